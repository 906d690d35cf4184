"""The Telegram side of standing questions that no end-to-end test reaches directly."""

from bot.faces.telegram.follow import stop_markup


def test_the_stop_button_names_the_question_within_telegrams_64_bytes():
    button = stop_markup(2**63 - 1).inline_keyboard[0][0]
    assert button.text == "Stop following" and button.callback_data == f"unf:{2**63 - 1}"
    assert len(button.callback_data.encode()) <= 64
