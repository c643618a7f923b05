# Verbatim from the Spike docs (/work/shared/providers/spike.md), step 2, "Example Request".
# tests/vendor_snippets.rs replaces the host https://app-api.spikeapi.com by the mock server's and
# SIGNATURE_FROM_STEP_1 by the output of spike_sign_user.py.
curl --location 'https://app-api.spikeapi.com/v3/auth/hmac' \
    --header 'Content-Type: application/json' \
    --header 'Accept: application/json' \
    --data '{
        "application_id": 9999,
        "application_user_id": "my_application_user_123",
        "signature": "SIGNATURE_FROM_STEP_1"
    }'
