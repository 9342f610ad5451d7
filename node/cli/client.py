"""A small client for a running node's HTTP API, used by the CLI.

Problems (RFC 9457) come back as `LernodeError`s carrying the server's code and detail, so the
CLI prints the same one line for a local and a remote failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from node.config import Settings
from node.credentials.json_depth import NestingTooDeep, loads_bounded
from node.errors import ChainError, ConfigurationError, LernodeError


def _default_key(settings: Settings) -> str | None:
    explicit = os.environ.get("LERNODE_API_KEY")
    if explicit:
        return explicit
    path = settings.data_dir / "secrets" / "admin-api-key"
    return path.read_text().strip() if path.is_file() else None


class NodeClient:
    def __init__(self, base_url: str, api_key: str | None, timeout: float = 120.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    @classmethod
    def from_settings(
        cls, settings: Settings, node_url: str | None = None, api_key: str | None = None
    ) -> NodeClient:
        return cls(
            node_url or os.environ.get("LERNODE_NODE_URL") or settings.base_url,
            api_key or _default_key(settings),
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ChainError(
                f"cannot reach the node at {self.base_url}: {type(exc).__name__} "
                "(is `lernode up` running? set LERNODE_NODE_URL)",
                code="node_unreachable",
            ) from None
        if response.status_code >= 400:
            raise _problem(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


class ServerProblem(LernodeError):
    """An RFC 9457 problem the node answered: its `code` and, for invalid input, which fields.

    `detail` is what the CLI prints after `error [code]`: the first field error when there is
    one (`credential.learner.name: Field required`), else the server's detail.
    """

    def __init__(self, detail: str, *, code: str, status: int) -> None:
        super().__init__(detail, code=code)
        self.http_status = status


def _problem(response: httpx.Response) -> LernodeError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase)
    code = str(body.get("code") or f"http_{response.status_code}")
    if response.status_code in (401, 403):
        return ConfigurationError(
            f"{detail} [{code}] (pass --api-key or set LERNODE_API_KEY)", code=code
        )
    return ServerProblem(_field_errors(body) or detail, code=code, status=response.status_code)


def _field_errors(body: dict[str, Any]) -> str | None:
    """`credential.learner.name: Field required` (+ how many more), from a problem's `errors`."""
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    if not errors:
        return None
    first = errors[0]
    location = str(first.get("location", "")).removeprefix("body.").removeprefix("body")
    message = str(first.get("message", "invalid"))
    text = f"{location}: {message}" if location else message
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


def read_json_file(path: Path) -> Any:
    import json

    try:
        return loads_bounded(path.read_bytes())
    except IsADirectoryError:
        raise ConfigurationError(f"{path} is a directory", code="file_not_found") from None
    except NestingTooDeep as exc:
        raise ConfigurationError(f"{path}: {exc.detail}", code=exc.code) from None
    except FileNotFoundError:
        raise ConfigurationError(f"no such file: {path}", code="file_not_found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{path} is not JSON: {exc}", code="malformed_json") from None
