# Verbatim from the Inqud API docs (/work/shared/providers/inqud.md), "Secret token GET example".
# tests/vendor_snippets.rs replaces the host https://api.inqud.com by the mock server's and
# appends one line printing the HTTP status and body.
import requests

id = 'TKN-6c1296b8-6929-443b-ac06-f732e0e27be1'
secret = "dBajIp3wHnw5euxohPiZvsCEorG3Fhl9gsHl1UIBlsImHjWRdSJdp4Gh6e3y2PNs"


headers = {}
headers['X-Token-API-Id'] = id
headers['X-Token-API-Secret'] = secret


url = 'https://api.inqud.com/v1/user/wallet/balances'

http_response = requests.get(url=url, headers=headers)


print(str(http_response.content.decode()))
