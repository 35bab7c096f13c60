"""The confirmation gate of create_order and request_removal, observed at the sandbox's request log.

Every test counts the POST requests that reached the sandbox, so a refused,
unconfirmed or repeated call is shown to send nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import Client
from pydantic import SecretStr

from signtraker_mcp.config import ConfirmationPolicy, Settings
from signtraker_mcp.confirmation import ConfirmationSigner, WriteRequest
from signtraker_mcp.sandbox import RunningSandbox
from signtraker_mcp.server import build_server

from .helpers import CONFIRMATION_KEY, all_orders, order_with_status, posts, text_of

pytestmark = pytest.mark.anyio

ADDRESS = {"street_number": "18", "street_name": "Elm St", "city": "Austin", "state": "TX"}


async def _preview(client: Client, order_id: int, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool("request_removal", {"order_id": order_id, **arguments})
    assert result.is_error is False, text_of(result)
    preview = result.structured_content
    assert preview is not None
    assert preview["status"] == "preview"
    return preview


async def test_removal_preview_sends_no_post(client: Client, sandbox: RunningSandbox) -> None:
    order = order_with_status(sandbox, "Installed")
    preview = await _preview(client, order["Id"])
    assert posts(sandbox) == []
    assert preview["confirmation_token"]
    assert preview["request"] == {
        "method": "POST",
        "path": f"/api/orders/{order['Id']}/requestremoval",
        "body": {},
    }
    summary = preview["summary"]
    assert summary["order_number"] == order["OrderNumber"]
    assert summary["status"] == "Installed"
    assert summary["agent"] == order["Agent"]["Name"]
    assert order["JobSite"]["City"] in summary["address"]


async def test_removal_commit_sends_once_when_repeated(client: Client, sandbox: RunningSandbox) -> None:
    order = order_with_status(sandbox, "Installed")
    preview = await _preview(client, order["Id"], due_date="2030-01-15")
    arguments = {
        "order_id": order["Id"],
        "due_date": "2030-01-15",
        "confirm": True,
        "confirmation_token": preview["confirmation_token"],
    }
    first = await client.call_tool("request_removal", arguments)
    assert first.is_error is False, text_of(first)
    assert first.structured_content["status"] == "submitted"  # type: ignore[index]
    assert "status is now RemovalRequested" in first.structured_content["message"]  # type: ignore[index]
    read_back = first.structured_content["order"]  # type: ignore[index]
    assert read_back["RemovalRequestDate"]
    assert read_back["RemovalDueDate"].startswith("2030-01-15")

    for _ in range(2):
        repeat = await client.call_tool("request_removal", arguments)
        assert repeat.is_error is False, text_of(repeat)
        assert repeat.structured_content["status"] == "already_submitted"  # type: ignore[index]
    assert len(posts(sandbox)) == 1
    assert posts(sandbox)[0].body == {"DueDate": "2030-01-15T12:00:00Z"}


async def test_removal_confirm_as_string(client: Client, sandbox: RunningSandbox) -> None:
    order = order_with_status(sandbox, "Installed")
    preview = await _preview(client, order["Id"])
    result = await client.call_tool(
        "request_removal",
        {"order_id": str(order["Id"]), "confirm": "true", "confirmation_token": preview["confirmation_token"]},
    )
    assert result.is_error is False, text_of(result)
    assert len(posts(sandbox)) == 1


@pytest.mark.parametrize(
    "value",
    [pytest.param("yes", id="yes"), pytest.param(1, id="one"), pytest.param("TRUE!", id="punctuation")],
)
async def test_removal_confirm_rejects_other_values(client: Client, sandbox: RunningSandbox, value: object) -> None:
    order = order_with_status(sandbox, "Installed")
    result = await client.call_tool("request_removal", {"order_id": order["Id"], "confirm": value})
    assert result.is_error is True
    assert "confirm must be true or false" in text_of(result)
    assert posts(sandbox) == []


@pytest.mark.parametrize("value", [pytest.param("", id="empty"), pytest.param(None, id="null")])
async def test_removal_blank_confirm_means_preview(client: Client, sandbox: RunningSandbox, value: object) -> None:
    order = order_with_status(sandbox, "Installed")
    result = await client.call_tool("request_removal", {"order_id": order["Id"], "confirm": value})
    assert result.is_error is False, text_of(result)
    assert result.structured_content["status"] == "preview"  # type: ignore[index]
    assert posts(sandbox) == []


async def test_removal_confirm_without_token_sends_nothing(client: Client, sandbox: RunningSandbox) -> None:
    order = order_with_status(sandbox, "Installed")
    result = await client.call_tool("request_removal", {"order_id": order["Id"], "confirm": True})
    assert result.is_error is True
    text = text_of(result)
    assert "no confirmation_token was given" in text
    assert "confirmation_token=" in text
    assert posts(sandbox) == []


async def test_removal_token_for_other_arguments_sends_nothing(client: Client, sandbox: RunningSandbox) -> None:
    order = order_with_status(sandbox, "Installed")
    preview = await _preview(client, order["Id"], notes="Pull the rider only")
    result = await client.call_tool(
        "request_removal",
        {
            "order_id": order["Id"],
            "notes": "Pull the whole post",
            "confirm": True,
            "confirmation_token": preview["confirmation_token"],
        },
    )
    assert result.is_error is True
    assert "arguments differ" in text_of(result)
    assert posts(sandbox) == []


async def test_removal_token_for_other_order_sends_nothing(client: Client, sandbox: RunningSandbox) -> None:
    installed = [order for order in all_orders(sandbox) if order["Status"] == "Installed"]
    preview = await _preview(client, installed[0]["Id"])
    result = await client.call_tool(
        "request_removal",
        {"order_id": installed[1]["Id"], "confirm": True, "confirmation_token": preview["confirmation_token"]},
    )
    assert result.is_error is True
    assert posts(sandbox) == []


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        pytest.param(lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "not issued", id="mac"),
        pytest.param(lambda token: "f" + token, "not issued", id="expiry"),
        pytest.param(lambda token: "garbage", "not one this server issued", id="garbage"),
    ],
)
async def test_removal_tampered_token_sends_nothing(
    client: Client, sandbox: RunningSandbox, tamper: Callable[[str], str], expected: str
) -> None:
    order = order_with_status(sandbox, "Installed")
    preview = await _preview(client, order["Id"])
    result = await client.call_tool(
        "request_removal",
        {"order_id": order["Id"], "confirm": True, "confirmation_token": tamper(preview["confirmation_token"])},
    )
    assert result.is_error is True
    assert expected in text_of(result)
    assert posts(sandbox) == []


async def test_removal_expired_token_sends_nothing(client: Client, sandbox: RunningSandbox, settings: Settings) -> None:
    order = order_with_status(sandbox, "Installed")
    an_hour_ago = ConfirmationSigner(CONFIRMATION_KEY.encode(), settings.tenant, clock=lambda: 1_700_000_000.0)
    request = WriteRequest("POST", f"/api/orders/{order['Id']}/requestremoval", {})
    token, _ = an_hour_ago.issue("request_removal", request)
    result = await client.call_tool(
        "request_removal", {"order_id": order["Id"], "confirm": True, "confirmation_token": token}
    )
    assert result.is_error is True
    assert "expired" in text_of(result)
    assert posts(sandbox) == []


async def test_removal_token_from_other_key_sends_nothing(
    client: Client, sandbox: RunningSandbox, settings: Settings
) -> None:
    order = order_with_status(sandbox, "Installed")
    other = ConfirmationSigner(b"another server's key, 32 bytes long", settings.tenant)
    request = WriteRequest("POST", f"/api/orders/{order['Id']}/requestremoval", {})
    token, _ = other.issue("request_removal", request)
    result = await client.call_tool(
        "request_removal", {"order_id": order["Id"], "confirm": True, "confirmation_token": token}
    )
    assert result.is_error is True
    assert "not issued by this server" in text_of(result)
    assert posts(sandbox) == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param("Removed", "already removed", id="removed"),
        pytest.param("RemovalRequested", "already awaiting removal", id="awaiting"),
    ],
)
async def test_removal_refused_at_preview(client: Client, sandbox: RunningSandbox, status: str, expected: str) -> None:
    order = order_with_status(sandbox, status)
    result = await client.call_tool("request_removal", {"order_id": order["Id"]})
    assert result.is_error is True
    assert expected in text_of(result)
    assert posts(sandbox) == []


async def test_removal_unknown_order_refused_at_preview(client: Client, sandbox: RunningSandbox) -> None:
    result = await client.call_tool("request_removal", {"order_id": 999999999})
    assert result.is_error is True
    assert "Order 999999999 was not found" in text_of(result)
    assert posts(sandbox) == []


@pytest.mark.parametrize(
    ("due_date", "expected"),
    [
        pytest.param("2030-01-15T09:00:00", "has no UTC offset", id="naive"),
        pytest.param("15/01/2030", "must be a valid date", id="format"),
        pytest.param("2020-01-01", "is in the past", id="past"),
    ],
)
async def test_removal_rejects_bad_due_date(
    client: Client, sandbox: RunningSandbox, due_date: str, expected: str
) -> None:
    order = order_with_status(sandbox, "Installed")
    result = await client.call_tool("request_removal", {"order_id": order["Id"], "due_date": due_date})
    assert result.is_error is True
    assert expected in text_of(result)
    assert "due_date" in text_of(result)


async def test_create_order_preview_names_agent_and_preset(client: Client, sandbox: RunningSandbox) -> None:
    agent, preset = _active_agent(sandbox), _preset(sandbox)
    result = await client.call_tool(
        "create_order",
        {
            "agent_id": agent["Id"],
            "preset_id": preset["Id"],
            "street_number": "77",
            "street_name": "O'Connor Street",
            "city": "Austin",
            "state": "TX",
            "zip": "78702",
        },
    )
    assert result.is_error is False, text_of(result)
    summary = result.structured_content["summary"]  # type: ignore[index]
    assert summary["agent"] == f"{agent['FirstName']} {agent['LastName']}"
    assert summary["preset"] == preset["Name"]
    assert summary["address"] == "77 O'Connor Street, Austin, TX 78702"
    assert posts(sandbox) == []


async def test_create_order_commit_creates_one_order(client: Client, sandbox: RunningSandbox) -> None:
    agent, preset = _active_agent(sandbox), _preset(sandbox)
    arguments: dict[str, Any] = {
        "agent_id": agent["Id"],
        "preset_id": str(preset["Id"]),
        "street_number": "12",
        "street_name": "Rue Sainte-Catherine",
        "city": "Montréal",
        "state": "QC",
        "zip": "H2X 1K4",
        "notes": "Corner lot — use the east side ✓",
    }
    preview = await client.call_tool("create_order", arguments)
    token = preview.structured_content["confirmation_token"]  # type: ignore[index]
    confirmed = {**arguments, "confirm": True, "confirmation_token": token}
    first = await client.call_tool("create_order", confirmed)
    assert first.is_error is False, text_of(first)
    created = first.structured_content["order"]  # type: ignore[index]
    assert created["JobSite"]["City"] == "Montréal"
    assert created["Notes"].startswith("Corner lot — use the east side ✓")
    again = await client.call_tool("create_order", confirmed)
    assert again.structured_content["status"] == "already_submitted"  # type: ignore[index]
    assert len(posts(sandbox)) == 1
    assert posts(sandbox)[0].body["StreetName"] == "Rue Sainte-Catherine"


async def test_create_order_unknown_agent_refused_at_preview(client: Client, sandbox: RunningSandbox) -> None:
    result = await client.call_tool(
        "create_order", {"agent_id": 424242, "preset_id": _preset(sandbox)["Id"], **ADDRESS}
    )
    assert result.is_error is True
    assert "agent_id 424242 matches no agent" in text_of(result)
    assert posts(sandbox) == []


async def test_create_order_unknown_preset_refused_at_preview(client: Client, sandbox: RunningSandbox) -> None:
    result = await client.call_tool(
        "create_order", {"agent_id": _active_agent(sandbox)["Id"], "preset_id": 9999, **ADDRESS}
    )
    assert result.is_error is True
    assert "preset_id 9999 matches no order preset" in text_of(result)
    assert posts(sandbox) == []


@pytest.mark.parametrize(
    ("address", "missing"),
    [
        pytest.param({}, "street_name is required", id="none"),
        pytest.param({"street_name": "Elm St", "city": "Austin", "state": ""}, "state is missing", id="blank-state"),
        pytest.param({"street_name": " ", "city": "", "state": "TX"}, "street_name, city are missing", id="blanks"),
    ],
)
async def test_create_order_needs_an_address(
    client: Client, sandbox: RunningSandbox, address: dict[str, str], missing: str
) -> None:
    arguments = {"agent_id": _active_agent(sandbox)["Id"], "preset_id": _preset(sandbox)["Id"], **address}
    result = await client.call_tool("create_order", arguments)
    assert result.is_error is True
    assert missing in text_of(result)
    assert posts(sandbox) == []


def _active_agent(sandbox: RunningSandbox) -> dict[str, Any]:
    agents = _get(sandbox, "/api/agents")
    return next(agent for agent in agents if not agent["IsInactive"])


def _preset(sandbox: RunningSandbox) -> dict[str, Any]:
    presets: list[dict[str, Any]] = _get(sandbox, "/api/orderpresets")
    return presets[0]


def _get(sandbox: RunningSandbox, path: str) -> Any:
    response = httpx.get(sandbox.base_url + path, headers={"Authorization": f"ST-API {sandbox.api_key}"}, timeout=10)
    response.raise_for_status()
    return response.json()


# Read-only mode and the confirmation policies, each with a server built for the case.


@pytest.fixture
def make_client(settings: Settings) -> Callable[..., Any]:
    def make(**changes: Any) -> Client:
        elicitation = changes.pop("elicitation", None)
        mode = changes.pop("mode", "auto")
        server = build_server(dataclasses.replace(settings, **changes))
        return Client(server, mode=mode, elicitation_callback=elicitation)

    return make


async def test_read_only_hides_and_refuses_writes(make_client: Callable[..., Client], sandbox: RunningSandbox) -> None:
    order = order_with_status(sandbox, "Installed")
    async with make_client(read_only=True) as client:
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
        assert names == ["find_agents", "get_order", "list_order_presets", "list_orders"]
        result = await client.call_tool("request_removal", {"order_id": order["Id"], "confirm": True})
        assert result.is_error is True
        assert "read-only mode" in text_of(result)
    assert posts(sandbox) == []


def _answer(action: str, asked: list[str]) -> Any:
    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        content = {"approve": True} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    return callback


async def _confirm_removal(client: Client, order_id: int) -> types.CallToolResult:
    preview = await client.call_tool("request_removal", {"order_id": order_id})
    token = preview.structured_content["confirmation_token"]  # type: ignore[index]
    return await client.call_tool(
        "request_removal", {"order_id": order_id, "confirm": True, "confirmation_token": token}
    )


@pytest.mark.parametrize("mode", [pytest.param("legacy", id="2025-11-25"), pytest.param("auto", id="2026-07-28")])
async def test_elicitation_accept_sends_once(
    make_client: Callable[..., Client], sandbox: RunningSandbox, mode: str
) -> None:
    order = order_with_status(sandbox, "Installed")
    asked: list[str] = []
    async with make_client(mode=mode, elicitation=_answer("accept", asked)) as client:
        result = await _confirm_removal(client, order["Id"])
    assert result.is_error is False, text_of(result)
    assert result.structured_content["status"] == "submitted"  # type: ignore[index]
    assert len(asked) == 1
    assert str(order["OrderNumber"]) in asked[0]
    assert "on the date SignTraker sets by default" in asked[0]
    assert len(posts(sandbox)) == 1


@pytest.mark.parametrize("action", ["decline", "cancel"])
@pytest.mark.parametrize("mode", [pytest.param("legacy", id="2025-11-25"), pytest.param("auto", id="2026-07-28")])
async def test_elicitation_refusal_sends_nothing(
    make_client: Callable[..., Client], sandbox: RunningSandbox, mode: str, action: str
) -> None:
    order = order_with_status(sandbox, "Installed")
    asked: list[str] = []
    async with make_client(mode=mode, elicitation=_answer(action, asked)) as client:
        result = await _confirm_removal(client, order["Id"])
    assert result.is_error is False
    assert result.structured_content["status"] == "declined"  # type: ignore[index]
    assert "nothing was sent" in text_of(result)
    assert len(asked) == 1
    assert posts(sandbox) == []


async def test_human_policy_without_elicitation_refuses(
    make_client: Callable[..., Client], sandbox: RunningSandbox
) -> None:
    order = order_with_status(sandbox, "Installed")
    async with make_client(confirmation=ConfirmationPolicy.HUMAN) as client:
        result = await _confirm_removal(client, order["Id"])
    assert result.is_error is True
    assert "SIGNTRAKER_CONFIRMATION=auto" in text_of(result)
    assert posts(sandbox) == []


async def test_token_policy_does_not_ask(make_client: Callable[..., Client], sandbox: RunningSandbox) -> None:
    order = order_with_status(sandbox, "Installed")
    asked: list[str] = []
    async with make_client(confirmation=ConfirmationPolicy.TOKEN, elicitation=_answer("decline", asked)) as client:
        result = await _confirm_removal(client, order["Id"])
    assert result.is_error is False, text_of(result)
    assert asked == []
    assert len(posts(sandbox)) == 1


async def test_tokens_shared_by_servers_with_one_key(
    make_client: Callable[..., Client], sandbox: RunningSandbox
) -> None:
    order = order_with_status(sandbox, "Installed")
    async with make_client() as first:
        preview = await first.call_tool("request_removal", {"order_id": order["Id"]})
    token = preview.structured_content["confirmation_token"]  # type: ignore[index]
    async with make_client() as second:
        result = await second.call_tool(
            "request_removal", {"order_id": order["Id"], "confirm": True, "confirmation_token": token}
        )
    assert result.is_error is False, text_of(result)
    assert len(posts(sandbox)) == 1


# Errors from the API and the network.


async def test_rejected_key_says_where_to_find_one(settings: Settings) -> None:
    wrong = dataclasses.replace(settings, api_key=SecretStr("not-the-key"))
    async with Client(build_server(wrong)) as client:
        result = await client.call_tool("list_orders", {})
    assert result.is_error is True
    text = text_of(result)
    assert "rejected the configured API key (HTTP 401)" in text
    assert "My Profile" in text
    assert "not-the-key" not in text


async def test_refused_connection_is_reported(settings: Settings, unused_port: int) -> None:
    closed = dataclasses.replace(settings, base_url=f"http://127.0.0.1:{unused_port}")
    async with Client(build_server(closed)) as client:
        result = await client.call_tool("get_order", {"order_id": 1})
    assert result.is_error is True
    text = text_of(result)
    assert "could not connect" in text
    assert "Traceback" not in text


class _AnswerLostTransport(httpx.AsyncBaseTransport):
    """Forward requests to the sandbox, then replace the response to each POST with a 504.

    This stands for a proxy that times out after the API applied the write, which
    the sandbox alone cannot produce.
    """

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method != "POST":
            return response
        await response.aread()
        await response.aclose()
        return httpx.Response(504, text="<html><body>Gateway Timeout</body></html>", request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_unknown_outcome_checks_and_never_resends(settings: Settings, sandbox: RunningSandbox) -> None:
    order = order_with_status(sandbox, "Installed")
    async with Client(build_server(settings, transport=_AnswerLostTransport())) as client:
        preview = await client.call_tool("request_removal", {"order_id": order["Id"]})
        arguments = {
            "order_id": order["Id"],
            "confirm": True,
            "confirmation_token": preview.structured_content["confirmation_token"],  # type: ignore[index]
        }
        first = await client.call_tool("request_removal", arguments)
        repeat = await client.call_tool("request_removal", arguments)
    assert first.is_error is True
    assert "outcome of this write is unknown" in text_of(first)
    assert "most likely went through" in text_of(first)
    assert "<html>" not in text_of(first)
    assert repeat.is_error is True
    assert "already used" in text_of(repeat)
    assert len(posts(sandbox)) == 1


async def test_unknown_outcome_of_creation_looks_for_new_order(settings: Settings, sandbox: RunningSandbox) -> None:
    agent, preset = _active_agent(sandbox), _preset(sandbox)
    arguments: dict[str, Any] = {
        "agent_id": agent["Id"],
        "preset_id": preset["Id"],
        "street_number": "9",
        "street_name": "Lost Answer Lane",
        "city": "Austin",
        "state": "TX",
    }
    async with Client(build_server(settings, transport=_AnswerLostTransport())) as client:
        preview = await client.call_tool("create_order", arguments)
        token = preview.structured_content["confirmation_token"]  # type: ignore[index]
        result = await client.call_tool("create_order", {**arguments, "confirm": True, "confirmation_token": token})
    assert result.is_error is True
    text = text_of(result)
    assert "outcome of this write is unknown" in text
    created = [order["Id"] for order in all_orders(sandbox) if order["JobSite"]["StreetName"] == "Lost Answer Lane"]
    assert len(created) == 1
    assert str(created[0]) in text
    assert len(posts(sandbox)) == 1


async def test_unknown_argument_on_commit_sends_nothing(client: Client, sandbox: RunningSandbox) -> None:
    order = order_with_status(sandbox, "Installed")
    preview = await _preview(client, order["Id"])
    result = await client.call_tool(
        "request_removal",
        {
            "order_id": order["Id"],
            "confirm": True,
            "confirmation_token": preview["confirmation_token"],
            "due_dat": "2030-01-15",
        },
    )
    assert result.is_error is True
    assert "Did you mean 'due_date'?" in text_of(result)
    assert posts(sandbox) == []


@pytest.mark.parametrize("mode", [pytest.param("legacy", id="2025-11-25"), pytest.param("auto", id="2026-07-28")])
async def test_elicitation_for_creation_names_agent_and_preset(
    make_client: Callable[..., Client], sandbox: RunningSandbox, mode: str
) -> None:
    agent, preset = _active_agent(sandbox), _preset(sandbox)
    arguments: dict[str, Any] = {"agent_id": agent["Id"], "preset_id": preset["Id"], **ADDRESS}
    asked: list[str] = []
    async with make_client(mode=mode, elicitation=_answer("accept", asked)) as client:
        preview = await client.call_tool("create_order", arguments)
        token = preview.structured_content["confirmation_token"]  # type: ignore[index]
        result = await client.call_tool("create_order", {**arguments, "confirm": True, "confirmation_token": token})
    assert result.is_error is False, text_of(result)
    assert len(asked) == 1
    assert agent["LastName"] in asked[0]
    assert preset["Name"] in asked[0]
    assert len(posts(sandbox)) == 1
