"""/docs and /redoc load nothing but the service's own URLs, and those answer with the right types."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.sqlite_only  # the docs read no table

SERVICE = "http://dialer.test"  # the `api` client's base URL
URL = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")


def _loaded(html: str) -> list[str]:
    """The URLs a docs page loads (scripts, stylesheets, icon, the OpenAPI document)."""
    return URL.findall(html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_given_a_docs_page_then_it_names_no_other_host(api, page):
    response = await api.get(page)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"].startswith("default-src 'self';")
    foreign = [url for url in re.findall(r"\w+://[^\s'\"<>)]+", response.text) if not url.startswith(SERVICE + "/")]
    assert foreign == []
    assert _loaded(response.text) and all(url.startswith("/") for url in _loaded(response.text))


@pytest.mark.parametrize(("page", "types"), [
    ("/docs", {"/docs/assets/swagger-ui-bundle.js": "text/javascript", "/docs/assets/swagger-ui.css": "text/css",
               "/docs/assets/favicon.png": "image/png", "/openapi.json": "application/json"}),
    ("/redoc", {"/docs/assets/redoc.standalone.js": "text/javascript", "/docs/assets/favicon.png": "image/png",
                "/openapi.json": "application/json"}),
])
async def test_given_a_docs_page_then_each_url_it_loads_answers_with_its_type(api, page, types):
    html = (await api.get(page)).text

    assert sorted(_loaded(html)) == sorted(types)
    for url, media_type in types.items():
        response = await api.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].split(";")[0] == media_type, url
        assert len(response.content) > 1000 or url.endswith(".png"), url
        if url.startswith("/docs/assets/"):
            assert "max-age" in response.headers["cache-control"], url


async def test_given_an_unknown_asset_then_not_found(api):
    response = await api.get("/docs/assets/..%2F..%2F__init__.py")

    assert response.status_code == 404
    assert (await api.get("/docs/assets/index.html")).status_code == 404


async def test_given_the_oauth2_redirect_page_then_it_is_served(api):
    response = await api.get("/docs/oauth2-redirect")

    assert response.status_code == 200
    assert "oauth2" in response.text
