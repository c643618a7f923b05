# Verbatim from the Spike docs (/work/shared/providers/spike.md), step 1, Python.
# tests/vendor_snippets.rs appends one line printing sign_user("my_application_user_123").
import hmac
import hashlib

# Example: sign_user("my_application_user_123")
def sign_user(user_id: str) -> str:
    hmac_key = b"HMAC_KEY_FROM_ADMIN_CONSOLE"
    h = hmac.new(hmac_key, user_id.encode(), hashlib.sha256)
    return h.hexdigest()
