"""The API's response (and shared request) models: what each route answers, described once for
the OpenAPI document.

Shapes are the JSON the routes always answered; a model documents and checks them. Models of
objects a service builds (`credentials`, `governance`, `institutions`) allow extra members, so a
field a service adds reaches clients unchanged until its model names it. Credentials, DID
documents and status list credentials stay `dict[str, Any]`: they are JSON-LD documents defined
by their own specifications, signed as they are.
"""
