"""A fake Telegram Bot API server on 127.0.0.1, strict like the real one.

The bot under test talks to it over HTTP through python-telegram-bot, exactly as
it talks to Telegram (`TELEGRAM_API_BASE_URL=http://127.0.0.1:PORT/bot`). Tests
play the users: they queue updates (messages, button presses, inline queries),
inject faults (429 with retry_after, 5xx, 403, dropped connections) and read
every call the bot made.

Strictness that catches production errors: text over 4096 UTF-16 units after
entity parsing, HTML Telegram would not parse, callback data over 64 bytes,
empty text, unanswered or twice-answered callback queries, more than 50 inline
results, and editing a message into the same content ("message is not modified").
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

BOT_USER = {
    "id": 777000111,
    "is_bot": True,
    "first_name": "News",
    "username": "news_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
}
STRING_FIELDS = {
    "text",
    "parse_mode",
    "callback_query_id",
    "inline_query_id",
    "action",
    "next_offset",
    "url",
    "secret_token",
    "description",
}
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
    "tg-emoji",
    "tg-time",
}
NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}


class TelegramHTMLError(ValueError):
    pass


class _TelegramHTML(HTMLParser):
    """Parses text the way Telegram's HTML parse mode accepts it, counting visible units."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.visible = 0
        self.blockquote_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            raise TelegramHTMLError(f'Unsupported start tag "{tag}"')
        if tag == "blockquote":
            if self.blockquote_depth:
                raise TelegramHTMLError("Blockquote entities can't be nested")
            self.blockquote_depth += 1
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            raise TelegramHTMLError(f'Unmatched end tag "{tag}"')
        self.stack.pop()
        if tag == "blockquote":
            self.blockquote_depth -= 1

    def handle_data(self, data):
        if any(ch in data for ch in "<>&"):
            raise TelegramHTMLError("Unescaped <, > or & in text")
        self.visible += len(data.encode("utf-16-le")) // 2

    def handle_entityref(self, name):
        if name not in NAMED_ENTITIES:
            raise TelegramHTMLError(f'Unsupported entity "&{name};"')
        self.visible += 1

    def handle_charref(self, name):
        self.visible += 1


def visible_length(text: str, parse_mode: str | None) -> int:
    """UTF-16 length after entity parsing; raises TelegramHTMLError like Telegram's 400."""
    if parse_mode != "HTML":
        return len(text.encode("utf-16-le")) // 2
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.rawdata:
        raise TelegramHTMLError("Unterminated tag or entity")
    if parser.stack:
        raise TelegramHTMLError(f'Unclosed tag "{parser.stack[-1]}"')
    return parser.visible


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


@dataclass
class Fault:
    """A canned failure for the next calls of one method."""

    status: int
    description: str
    retry_after: int | None = None
    times: int = 1
    drop: bool = False  # close the connection without answering
    delay: float = 0.0  # wait this long first; with status 0, then answer as usual (a slow server)
    raw: bytes | None = None  # answer with these bytes and HTTP 200 instead (not the Bot API's JSON)


@dataclass
class Call:
    method: str
    params: dict
    at: float = field(default_factory=time.monotonic)


class FakeBotApi:
    """The fake server plus the user side: queue updates, read calls, inject faults."""

    def __init__(self, token: str = "123456789:fake-token-for-tests"):
        self.token = token
        self.calls: list[Call] = []
        self.failed: list[tuple[str, int]] = []
        self.faults: dict[str, list[Fault]] = {}
        self.random_fault: Callable[[str, dict], Fault | None] | None = None
        self.per_chat_interval = 0.0
        self.admins: dict[int, set[int]] = {}  # group chat id -> its admins' user ids (getChatMember)
        self._last_sent: dict[str, float] = {}
        self._updates: list[dict] = []
        self._next_update_id = 1
        self._next_message_id = 1
        self._messages: dict[tuple[int, int], dict] = {}
        self._open_callbacks: set[str] = set()
        self._answered_callbacks: set[str] = set()
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> FakeBotApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # --- the user side -------------------------------------------------------------------
    def _push(self, payload: dict) -> int:
        with self._cond:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, **payload})
            self._cond.notify_all()
        return update_id

    def _new_message(self, chat: dict, sender: dict, text: str, **extra) -> dict:
        with self._cond:
            message_id = self._next_message_id
            self._next_message_id += 1
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            "text": text,
            **extra,
        }
        self._messages[(chat["id"], message_id)] = message
        return message

    def send_text(
        self,
        text: str,
        user_id: int = 1001,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to: dict | None = None,
        first_name: str = "Ada",
    ) -> dict:
        """A user writes a message; commands and @mentions get their entities, as Telegram adds them."""
        chat_id = user_id if chat_id is None else chat_id
        chat = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "Newsroom"
        else:
            chat["first_name"] = first_name
        entities = []
        if text.startswith("/"):
            command = text.split()[0]
            entities.append({"type": "bot_command", "offset": 0, "length": _u16(command)})
        for word_start, word in _words(text):
            if word.startswith("@") and len(word) > 1:
                entities.append({"type": "mention", "offset": _u16(text[:word_start]), "length": _u16(word)})
        extra = {"entities": entities} if entities else {}
        if reply_to:
            extra["reply_to_message"] = reply_to
        sender = {"id": user_id, "is_bot": False, "first_name": first_name}
        message = self._new_message(chat, sender, text, **extra)
        self._push({"message": message})
        return message

    def press(self, message: dict, data: str, user_id: int = 1001) -> str:
        """A user presses an inline keyboard button under a bot message."""
        query_id = f"cb{self._next_update_id}"
        self._open_callbacks.add(query_id)
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": {"id": user_id, "is_bot": False, "first_name": "Ada"},
                    "chat_instance": "ci-1",
                    "data": data,
                    "message": message,
                }
            }
        )
        return query_id

    def inline(self, query: str, user_id: int = 1001) -> str:
        query_id = f"iq{self._next_update_id}"
        self._push(
            {
                "inline_query": {
                    "id": query_id,
                    "from": {"id": user_id, "is_bot": False, "first_name": "Ada"},
                    "query": query,
                    "offset": "",
                    "chat_type": "sender",
                }
            }
        )
        return query_id

    def fail(
        self,
        method: str,
        status: int,
        description: str = "",
        retry_after: int | None = None,
        times: int = 1,
        drop: bool = False,
        delay: float = 0.0,
        raw: bytes | None = None,
    ) -> None:
        """The next `times` calls of `method` fail so (status 0 with a delay: they are only slow)."""
        self.faults.setdefault(method, []).append(Fault(status, description, retry_after, times, drop, delay, raw))

    # --- reading what the bot did --------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[list[Call]], object], timeout: float = 10.0):
        """Wait until predicate(calls) is truthy and return it, or fail."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(list(self.calls))
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [(c.method, c.params.get("text", "")[:60]) for c in self.calls[-15:]]
                    raise AssertionError(f"timed out waiting; last calls: {methods}")
                self._cond.wait(min(left, 0.2))

    def sent_to(self, chat_id: int) -> list[dict]:
        return [c.params for c in self.calls_to("sendMessage") if c.params.get("chat_id") == chat_id]

    @property
    def unanswered_callbacks(self) -> set[str]:
        return self._open_callbacks - self._answered_callbacks

    # --- the API -------------------------------------------------------------------------
    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                prefix, _, method = self.path.rpartition("/")
                token = prefix.removeprefix("/bot")
                params = _decode_form(body, self.headers.get("Content-Type", ""))
                try:
                    if token != fake.token:
                        raise ApiError(401, "Unauthorized")
                    fault = fake._take_fault(method, params)
                    if fault and fault.delay:
                        time.sleep(fault.delay)
                    if fault and fault.drop:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    if fault and fault.raw is not None:
                        self._send(200, fault.raw, "text/html")
                        return
                    if fault and fault.status:
                        raise ApiError(fault.status, fault.description, fault.retry_after)
                    fake._check_flood(method, params)
                    result = fake._dispatch(method, params)
                    payload, status = {"ok": True, "result": result}, 200
                except ApiError as error:
                    fake.failed.append((method, error.status))
                    payload = {"ok": False, "error_code": error.status, "description": error.description}
                    if error.retry_after is not None:
                        payload["parameters"] = {"retry_after": error.retry_after}
                    status = error.status
                self._send(status, json.dumps(payload).encode(), "application/json")

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True  # the client went away (shutdown, timeout)

        return Handler

    def _check_flood(self, method: str, params: dict) -> None:
        """With `per_chat_interval` set, Telegram's per-chat flood limit: a message to a chat sooner than
        that after the previous one is refused with 429 and a retry_after."""
        if not self.per_chat_interval or method not in ("sendMessage", "sendChatAction"):
            return
        chat = str(params.get("chat_id"))
        with self._cond:
            now = time.monotonic()
            last = self._last_sent.get(chat, -1e9)
            if now - last < self.per_chat_interval:
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            self._last_sent[chat] = now

    def _take_fault(self, method: str, params: dict) -> Fault | None:
        with self._cond:
            queue = self.faults.get(method)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
                return fault
        if self.random_fault and method != "getUpdates":
            return self.random_fault(method, params)
        return None

    def _dispatch(self, method: str, params: dict):
        if method != "getUpdates":
            with self._cond:
                self.calls.append(Call(method, params))
                self._cond.notify_all()
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        return handler(params)

    def _api_getMe(self, params):
        return BOT_USER

    def _api_deleteWebhook(self, params):
        return True

    def _api_setWebhook(self, params):
        if not str(params.get("url", "")).startswith(("https://", "http://127.0.0.1")):
            raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        return True

    def _api_setMyCommands(self, params):
        commands = params.get("commands")
        if not isinstance(commands, list) or not all(1 <= len(c["command"]) <= 32 for c in commands):
            raise ApiError(400, "Bad Request: invalid commands")
        return True

    def _api_getUpdates(self, params):
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            self.calls.append(Call("getUpdates", params))
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._cond.wait(min(0.1, max(deadline - time.monotonic(), 0)))
            limit = int(params.get("limit") or 100)
            return list(self._updates[:limit])

    def _check_text(self, text, parse_mode):
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        try:
            length = visible_length(text, parse_mode)
        except TelegramHTMLError as error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
        if length > 4096:
            raise ApiError(400, "Bad Request: message is too long")

    def _check_markup(self, markup):
        if not markup:
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _chat(self, chat_id):
        return {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}

    def _api_sendMessage(self, params):
        self._check_text(params.get("text"), params.get("parse_mode"))
        self._check_markup(params.get("reply_markup"))
        extra = {"reply_markup": params["reply_markup"]} if params.get("reply_markup") else {}
        return self._new_message(self._chat(params["chat_id"]), BOT_USER, params["text"], **extra)

    def _message_for_edit(self, params):
        key = (params.get("chat_id"), params.get("message_id"))
        message = self._messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _api_editMessageText(self, params):
        message = self._message_for_edit(params)
        self._check_text(params.get("text"), params.get("parse_mode"))
        self._check_markup(params.get("reply_markup"))
        if message["text"] == params["text"] and message.get("reply_markup") == params.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = params["text"]
        message["reply_markup"] = params.get("reply_markup")
        return message

    def _api_editMessageReplyMarkup(self, params):
        message = self._message_for_edit(params)
        self._check_markup(params.get("reply_markup"))
        if message.get("reply_markup") == params.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        message["reply_markup"] = params.get("reply_markup")
        return message

    def _api_getChatMember(self, params):
        user = int(params["user_id"])
        member = {"user": {"id": user, "is_bot": False, "first_name": "U"}}
        if user not in self.admins.get(int(params["chat_id"]), set()):
            return {"status": "member", **member}
        rights = (
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_promote_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
        )  # ChatMemberAdministrator's required fields
        return {
            "status": "administrator",
            **member,
            "can_be_edited": False,
            "is_anonymous": False,
            **{right: right == "can_manage_chat" for right in rights},
        }

    def _api_sendChatAction(self, params):
        return True

    def _api_answerCallbackQuery(self, params):
        query_id = params.get("callback_query_id")
        if query_id in self._answered_callbacks or query_id not in self._open_callbacks:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(params.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: text is too long")
        self._answered_callbacks.add(query_id)
        return True

    def _api_answerInlineQuery(self, params):
        results = params.get("results") or []
        if len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        for result in results:
            if not 1 <= len(str(result.get("id", "")).encode()) <= 64:
                raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
            content = result.get("input_message_content", {})
            self._check_text(content.get("message_text"), content.get("parse_mode"))
        return True


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _words(text: str):
    position = 0
    for word in text.split(" "):
        yield position, word.rstrip(",.?!:;")
        position += len(word) + 1


def _decode_form(body: str, content_type: str) -> dict:
    if "application/json" in content_type:
        return json.loads(body or "{}")
    params = {}
    for key, values in parse_qs(body, keep_blank_values=True).items():
        value = values[0]
        if key not in STRING_FIELDS:
            try:
                value = json.loads(value)
            except ValueError:
                pass
        params[key] = value
    return params
