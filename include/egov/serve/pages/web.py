"""What the egov pages share: the API server's sign-in check, safe headers, odd paths."""

from __future__ import annotations

import html
import os
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

if TYPE_CHECKING:
    from fastapi import FastAPI, Response

MAX_PATH_CHARS = 1024
MAX_NAME_CHARS = 255

# No script, nothing from elsewhere; `sandbox` (without allow-scripts) runs no script at all.
# allow-same-origin keeps the page's own origin, so its styles and links carry the sign-in
# cookie; with scripts off it grants nothing else. allow-downloads: the Biểu 06 files are
# downloads (Airflow's own frame allows them too; without it Chromium drops them silently).
DOCS_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; "
            "sandbox allow-same-origin allow-downloads allow-popups allow-popups-to-escape-sandbox")
PAGE_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'; "
            "sandbox allow-same-origin allow-forms allow-downloads allow-popups "
            "allow-top-navigation-by-user-activation")


def security_headers(csp: str) -> dict[str, str]:
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store"}


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]


ROLE_DENIED = "your Airflow role may not read these pages"


def signed_in_dependency() -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[None]]:
    """The API server's own check that the caller is a signed-in Airflow user (the UI's JWT
    cookie `_token` or an `Authorization: Bearer` token): 401/403 otherwise. It is what
    `airflow.api_fastapi.core_api.security.requires_authenticated` runs (`get_user`),
    imported on the first request: every Airflow process loads the plugins, and that module
    costs ~1.5 s to import. Then the auth manager decides whether the user's role may read
    the Airflow UI (`is_authorized_view(WEBSITE)`: any role of the simple auth manager; the
    roles given "Website" read with FAB): 403 otherwise."""
    async def signed_in(request: Request, credentials: Bearer) -> None:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
        from airflow.api_fastapi.core_api.security import get_user
        from fastapi import HTTPException

        user = await get_user(request, None, credentials)
        if not get_auth_manager().is_authorized_view(access_view=AccessView.WEBSITE,
                                                     user=user):
            raise HTTPException(status_code=403, detail=ROLE_DENIED)

    return signed_in


def editor_dependency() -> Callable[[Request, HTTPAuthorizationCredentials | None],
                                  Awaitable[str | None]]:
    """The signed-in user's name when their Airflow role may edit (the auth manager allows
    them to change DAGs: PUT), else None (not signed in, or a viewer). Never raises."""
    async def editor(request: Request, credentials: Bearer) -> str | None:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.core_api.security import get_user
        from fastapi import HTTPException

        try:
            user = await get_user(request, None, credentials)
        except HTTPException:
            return None
        try:
            if get_auth_manager().is_authorized_dag(method="PUT", user=user):
                return str(user.get_name())
        except Exception:  # noqa: BLE001 - an auth manager error: no editing
            return None
        return None

    return editor


def same_origin(request: Request) -> bool:
    """A state-changing request came from this server's own pages, not another site riding
    on the sign-in cookie: the browser's Sec-Fetch-Site says same-origin, else the Origin
    names this host (our pages send no Referer and, so, Origin "null" on form posts); a
    request carrying its own bearer token cannot be forged by a page."""
    from urllib.parse import urlparse

    if request.headers.get("authorization"):
        return True
    site = request.headers.get("sec-fetch-site")
    if site:
        return site == "same-origin"
    origin = urlparse(request.headers.get("origin") or "")
    return bool(origin.netloc) and origin.netloc == request.headers.get("host", "")


def login_url(next_url: str) -> str:
    from urllib.parse import quote

    base = os.environ.get("AIRFLOW__API__BASE_URL", "").rstrip("/")
    return f"{base}/auth/login?next={quote(next_url, safe='')}"


def install_common(app: FastAPI, csp: str) -> None:
    """Security headers on every response of `app`; a refused sign-in answers with a short
    Vietnamese page linking to the login (status kept: 401/403)."""
    from fastapi import HTTPException
    from fastapi.responses import HTMLResponse, JSONResponse

    headers = security_headers(csp)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                       ) -> Response:
        response = await call_next(request)
        for key, value in headers.items():
            response.headers.setdefault(key, value)
        return response

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (401, 403) and "text/html" in request.headers.get("accept", ""):
            target = str(request.url.path)
            title, text = ("Cần đăng nhập", "Trang này chỉ dành cho người dùng đã đăng nhập "
                           "Airflow.")
            if exc.detail == ROLE_DENIED:
                title, text = ("Không đủ quyền", "Vai trò Airflow của tài khoản này không "
                               "được xem trang này. Hãy đăng nhập bằng tài khoản khác.")
            body = ("<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'>"
                    f"<title>{title}</title></head><body><h1>{title}</h1><p>{text}</p>"
                    f"<p><a href='{html.escape(login_url(target))}'>Đăng nhập</a></p>"
                    "</body></html>")
            return HTMLResponse(body, status_code=exc.status_code, headers=headers)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers={**headers, **(exc.headers or {})})


def safe_relative(path: str) -> PurePosixPath | None:
    """`path` (already URL-decoded) as a relative path inside a folder, or None for anything
    odd: NUL and control characters, backslashes, `.`/`..`, empty segments, over-long names."""
    if len(path) > MAX_PATH_CHARS or any(ord(c) < 32 or c in "\\\x7f" for c in path):
        return None
    if path in ("", "/"):
        return PurePosixPath("index.html")
    directory = path.endswith("/")
    parts = path.strip("/").split("/") if directory else path.lstrip("/").split("/")
    if any(p in ("", ".", "..") or len(p) > MAX_NAME_CHARS for p in parts):
        return None
    rel = PurePosixPath(*parts)
    return rel / "index.html" if directory else rel


def file_inside(root: Path, rel: PurePosixPath) -> Path | None:
    """The regular file `root/rel` when it exists and lies inside `root` (symlinks resolved)."""
    try:
        base = root.resolve()
        target = (base / rel).resolve()
        if target.is_dir():
            target = target / "index.html"
        if base != target and base not in target.parents:
            return None
        return target if target.is_file() else None
    except (OSError, ValueError):
        return None
