"""The guided tour, played in a real browser: a citizen reports a tip with a photo and sees the
receipt (and copies it with its copy button, which sends the bot nothing); a reviewer claims
it (another is told who holds it), asks, the citizen answers, the reviewer verifies and
proposes a reward; the proposer may not approve it, a second finance person does; the citizen
sees the claim code, in English and then in Chinese. A screenshot of each pane is saved at the
end (`make screenshots` writes them to docs/)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from selenium.common.exceptions import (
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from sandbox.seed import demo_photo
from tests.browser.conftest import screenshot_folder

RECEIPT = re.compile(r"^[0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}$")
CLAIM_CODE = re.compile(r"^[0-9A-Z]{5}(?:-[0-9A-Z]{5}){2}$")
TIP = "A man sells pills from stall 12 of the night market, Fridays after 22:00."
# Markup typed by a person reaches the page as text, never as markup.
ANSWER = "Stall 12, every Friday around 23:00 <b>not bold</b> <img src=x>"
WAIT = 20


class Pane:
    """One chat pane of the page, used as a person would: click, type, choose."""

    def __init__(self, driver: Chrome, key: str) -> None:
        self.driver = driver
        self.key = key

    @property
    def root(self) -> WebElement:
        return self.driver.find_element(By.ID, f"pane-{self.key}")

    def until(self, check: Callable[[], object], what: str, wait: float = WAIT) -> object:
        try:
            return WebDriverWait(
                self.driver, wait, ignored_exceptions=(StaleElementReferenceException,)
            ).until(lambda _: check())
        except TimeoutException:
            shown = "\n---\n".join(text_of(m) for m in self.messages()[-6:])
            raise AssertionError(f"{self.key}: {what} (last messages:\n{shown})") from None

    def messages(self) -> list[WebElement]:
        return self.root.find_elements(By.CSS_SELECTOR, ".messages .msg")

    def last_id(self) -> int:
        ids = [int(m.get_attribute("data-id") or 0) for m in self.messages()]
        return max(ids, default=0)

    def new_message(self, after: int, match: Callable[[WebElement], bool], what: str) -> WebElement:
        def find() -> WebElement | None:
            for message in self.messages():
                if int(message.get_attribute("data-id") or 0) > after and match(message):
                    return message
            return None

        found = self.until(find, what)
        assert isinstance(found, WebElement)
        return found

    def message_with(self, needle: str) -> WebElement:
        found = self.until(
            lambda: next((m for m in reversed(self.messages()) if needle in text_of(m)), None),
            f"no message with {needle!r}",
        )
        assert isinstance(found, WebElement)
        return found

    def buttons(self, data: str) -> list[WebElement]:
        return self.root.find_elements(By.CSS_SELECTOR, f'.kbd[data-data="{data}"]')

    def press(self, data: str) -> None:
        def click() -> bool:
            found = self.buttons(data)
            if not found:
                return False
            found[-1].click()
            return True

        self.until(click, f"no button {data}")

    def type(self, text: str) -> None:
        field = self.root.find_element(By.CSS_SELECTOR, "textarea.input")
        field.send_keys(text)
        field.send_keys(Keys.ENTER)
        self.until(lambda: field.get_attribute("value") == "", "the message was not sent")

    def act_as(self, persona: str) -> None:
        Select(self.root.find_element(By.CSS_SELECTOR, "select.persona")).select_by_value(persona)

    def send_photo(self, path: Path) -> None:
        self.root.find_element(By.CSS_SELECTOR, "input.photo-input").send_keys(str(path))

    def alert(self) -> str:
        box = self.root.find_element(By.CSS_SELECTOR, ".alert")
        self.until(box.is_displayed, "no alert")
        text = text_of(box.find_element(By.TAG_NAME, "p"))
        box.find_element(By.CSS_SELECTOR, ".alert-ok").click()
        return text

    def toast(self, needle: str) -> None:
        box = self.root.find_element(By.CSS_SELECTOR, ".toast")
        self.until(lambda: box.is_displayed() and needle in text_of(box), f"no toast {needle!r}")

    def toast_gone(self) -> None:
        box = self.root.find_element(By.CSS_SELECTOR, ".toast")
        self.until(lambda: not box.is_displayed(), "the toast stays")

    def replying(self) -> str:
        bar = self.root.find_element(By.CSS_SELECTOR, ".reply-bar")
        self.until(bar.is_displayed, "the composer is not replying")
        return text_of(bar)


# Every request the page makes, recorded as it is made (the page's press goes through fetch).
RECORD_POSTS = """
window.tiplineRequests = [];
const original = window.fetch;
window.fetch = function (resource, init) {
  window.tiplineRequests.push(String(resource));
  return original.apply(this, arguments);
};
"""
CLIPBOARD_READ = """
const done = arguments[arguments.length - 1];
navigator.clipboard.readText().then(done, (error) => done("unreadable: " + error));
"""
CLIPBOARD_WRITE = """
const done = arguments[arguments.length - 1];
navigator.clipboard.writeText(arguments[0]).then(() => done(true), () => done(false));
"""
NOT_COPIED = "nothing copied yet"


def _record_posts_and_allow_the_clipboard(browser: Chrome, origin: str) -> bool:
    """Record the page's requests from now on; True when the test may read the clipboard
    (headless Chromium grants it through the DevTools protocol)."""
    browser.execute_script(RECORD_POSTS)
    try:
        browser.execute_cdp_cmd(
            "Browser.grantPermissions",
            {"origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
        )
    except WebDriverException:
        return False
    # Something else on the clipboard first (the receipt's code entity was copied before).
    if not browser.execute_async_script(CLIPBOARD_WRITE, NOT_COPIED):
        return False
    return bool(browser.execute_async_script(CLIPBOARD_READ) == NOT_COPIED)


def _posts(browser: Chrome) -> list[str]:
    return list(browser.execute_script("return window.tiplineRequests || []"))


def _has_button(data: str) -> Callable[[WebElement], bool]:
    return lambda m: bool(m.find_elements(By.CSS_SELECTOR, f'.kbd[data-data="{data}"]'))


def _codes(message: WebElement) -> list[str]:
    return [text_of(c) for c in message.find_elements(By.CSS_SELECTOR, "code.entity-code")]


def _body(message: WebElement) -> str:
    """The message's own text (not the quote of the message it replies to)."""
    found = message.find_elements(By.CSS_SELECTOR, ":scope > .text")
    return text_of(found[0]) if found else ""


def _card_shows(review: Pane, reference: str, data: str) -> None:
    def shows() -> bool:
        cards = [m for m in review.messages() if _body(m).startswith(f"📋 Tip {reference}")]
        return bool(cards) and _has_button(data)(cards[-1])

    review.until(shows, f"the card of {reference} has no {data}")


@pytest.mark.timeout(300)
def test_the_tour_from_a_tip_to_its_claim_code(browser: Chrome, sandbox_url: str, tmp_path):
    started = time.monotonic()
    browser.get(sandbox_url)
    citizen, review, finance = (Pane(browser, key) for key in ("citizen", "review", "finance"))
    citizen.until(
        lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready"),
        "the page never got its first snapshot",
    )
    banner = browser.find_element(By.CSS_SELECTOR, ".banner").text
    assert "sandbox" in banner and "Nothing reaches" in banner
    assert review.message_with("[DEMO]")  # the seeded tips are there from the start

    # 1. The citizen reports a tip with a photo and sees the receipt.
    citizen.root.find_element(By.CSS_SELECTOR, ".empty .start").click()
    citizen.press("v1:t:report")
    citizen.press("v1:t:cat:drug_trafficking")
    citizen.until(lambda: citizen.buttons("v1:t:area-skip"), "no area step")
    mark = citizen.last_id()
    citizen.type("Harbour Street")
    citizen.new_message(mark, _has_button("v1:t:review"), "no prompt to describe")
    mark = citizen.last_id()
    citizen.type(TIP)
    citizen.new_message(mark, _has_button("v1:t:review"), "the text was not added")
    photo = tmp_path / "IMG_20261201_stall.jpg"
    photo.write_bytes(demo_photo())
    mark = citizen.last_id()
    citizen.send_photo(photo)
    mine = citizen.new_message(
        mark, lambda m: bool(m.find_elements(By.CSS_SELECTOR, "img.photo")), "no photo shown"
    )
    assert "out" in (mine.get_attribute("class") or "")
    citizen.new_message(mine_id(mine), _has_button("v1:t:review"), "the photo was not added")
    mark = citizen.last_id()
    citizen.press("v1:t:review")
    citizen.new_message(mark, _has_button("v1:t:submit"), "no summary")
    mark = citizen.last_id()
    citizen.press("v1:t:submit")
    shown = citizen.new_message(
        mark, lambda m: any(RECEIPT.match(c) for c in _codes(m)), "no receipt"
    )
    receipt = next(c for c in _codes(shown) if RECEIPT.match(c))
    assert "protected" not in (shown.get_attribute("class") or "")
    shown.find_element(By.CSS_SELECTOR, "code.entity-code.copyable").click()
    citizen.toast("Copied")
    citizen.toast_gone()

    # The receipt's copy button copies it, and sends no callback query: the page posts no press.
    copy = shown.find_element(By.CSS_SELECTOR, ".kbd.copy")
    assert copy.get_attribute("data-copy") == receipt and "Copy receipt" in text_of(copy)
    assert copy.get_attribute("data-data") is None
    readable = _record_posts_and_allow_the_clipboard(browser, sandbox_url)
    copy.click()
    citizen.toast("Copied")
    if readable:
        assert browser.execute_async_script(CLIPBOARD_READ) == receipt
    else:
        print("\nheadless Chromium gave no clipboard to read: the toast was checked")
    assert "/api/press" not in _posts(browser)

    # 2. Reviewer A claims it; Reviewer B is told who holds it.
    card = review.message_with(TIP[:40])
    claim = next(
        b.get_attribute("data-data") or ""
        for b in card.find_elements(By.CSS_SELECTOR, ".kbd")
        if (b.get_attribute("data-data") or "").startswith("v1:r:claim:")
    )
    reference = claim.rsplit(":", 1)[1]
    assert "protected" in (card.get_attribute("class") or "") and "🔒 protected" in text_of(card)
    assert review.new_message(0, lambda m: bool(m.find_elements(By.CSS_SELECTOR, "img.photo")), "")
    review.act_as("reviewer_a")
    review.press(claim)
    _card_shows(review, reference, f"v1:r:ask:{reference}")
    assert "/api/press" in _posts(browser)  # the recorder sees presses: its silence meant none
    review.act_as("reviewer_b")
    review.press(f"v1:r:verify:{reference}")
    assert "held by Demo Reviewer A" in review.alert()

    # 3. Reviewer A asks a question; the composer replies to the bot's prompt by itself.
    review.act_as("reviewer_a")
    mark = review.last_id()
    review.press(f"v1:r:ask:{reference}")
    review.new_message(mark, lambda m: "write your question" in text_of(m), "no question prompt")
    assert "Replying to" in review.replying()
    question = "Which stall exactly, and at what time?"
    mark_citizen = citizen.last_id()
    review.type(question)
    asked = citizen.new_message(mark_citizen, lambda m: question in text_of(m), "no question")

    # 4. The citizen answers.
    reply = next(
        b.get_attribute("data-data") or ""
        for b in asked.find_elements(By.CSS_SELECTOR, ".kbd")
        if (b.get_attribute("data-data") or "").startswith("v1:a:")
    )
    mark = citizen.last_id()
    citizen.press(reply)
    citizen.new_message(mark, lambda m: "Send your answer now" in text_of(m), "no answer prompt")
    mark = citizen.last_id()
    citizen.type(ANSWER)
    citizen.new_message(mark, lambda m: "Passed on" in text_of(m), "the answer was not passed on")
    mark = citizen.last_id()
    citizen.press("v1:a:done")
    citizen.new_message(
        mark, lambda m: "answer is closed" in text_of(m), "the answer did not close"
    )
    answer = review.message_with("every Friday around 23:00")
    assert "<b>not bold</b> <img src=x>" in _body(answer)  # shown as text, never as markup
    assert not answer.find_elements(By.CSS_SELECTOR, ".text img")
    assert "not bold" not in [text_of(b) for b in answer.find_elements(By.CSS_SELECTOR, ".text b")]

    # 5. Reviewer A verifies and proposes a reward.
    review.press(f"v1:r:verify:{reference}")
    _card_shows(review, reference, f"v1:r:reward:{reference}")
    mark = review.last_id()
    review.press(f"v1:r:reward:{reference}")
    review.new_message(mark, _has_button(f"v1:w:seized_lt_10g:{reference}"), "no tiers")
    mark = review.last_id()
    review.press(f"v1:w:seized_lt_10g:{reference}")
    review.new_message(mark, lambda m: "justification" in text_of(m), "no justification prompt")
    assert "Replying to" in review.replying()
    review.type("5 g seized at stall 12 on the tipster's information")
    review.message_with("sent to finance")

    # 6. The proposer may not approve; Finance B does.
    post = finance.message_with(f"Reward proposal for {reference}")
    approve = next(
        b.get_attribute("data-data") or ""
        for b in post.find_elements(By.CSS_SELECTOR, ".kbd")
        if (b.get_attribute("data-data") or "").startswith("v1:f:approve:")
    )
    finance.act_as("reviewer_a")
    finance.press(approve)
    assert "cannot approve" in finance.alert()
    mark = citizen.last_id()
    finance.act_as("finance_b")
    finance.press(approve)
    finance.toast("Approved")

    # 7. The citizen sees the claim code.
    told = citizen.new_message(
        mark, lambda m: any(CLAIM_CODE.match(c) for c in _codes(m)), "no claim code"
    )
    code = next(c for c in _codes(told) if CLAIM_CODE.match(c))
    assert "¥300.00" in text_of(told)
    assert told.find_element(By.CSS_SELECTOR, ".kbd.copy").get_attribute("data-copy") == code
    finance.message_with("offered")

    folder = screenshot_folder(tmp_path)
    for pane in (citizen, review, finance):
        pane.until(
            lambda pane=pane: (
                not any(
                    box.is_displayed() for box in pane.root.find_elements(By.CSS_SELECTOR, ".toast")
                )
            ),
            "a toast stays",
        )
        browser.execute_script(
            "arguments[0].scrollTop = arguments[0].scrollHeight",
            pane.root.find_element(By.CSS_SELECTOR, ".messages"),
        )
    # The review desk is shown at the tip's card, as the reviewer left it.
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'start'})",
        next(m for m in review.messages() if _body(m).startswith(f"📋 Tip {reference}")),
    )
    for pane in (citizen, review, finance):
        pane.root.screenshot(str(folder / f"sandbox-{pane.key}.png"))
    browser.save_screenshot(str(folder / "sandbox-page.png"))
    for name in ("citizen", "review", "finance"):
        assert (folder / f"sandbox-{name}.png").stat().st_size > 10_000
    print(f"\nbrowser tour: {time.monotonic() - started:.1f} s, screenshots in {folder}")

    # The same citizen in Chinese: /status with the receipt shows the claim code.
    citizen.root.find_element(By.CSS_SELECTOR, 'button.lang[data-lang="zh"]').click()
    citizen.until(
        lambda: (
            citizen.root.find_element(By.CSS_SELECTOR, 'button.lang[data-lang="zh"]').get_attribute(
                "aria-pressed"
            )
            == "true"
        ),
        "the language did not switch",
    )
    mark = citizen.last_id()
    citizen.type(f"/status {receipt}")
    status = citizen.new_message(mark, lambda m: code in text_of(m), "no status with the code")
    assert re.search(r"[\u4e00-\u9fff]", text_of(status)), text_of(status)
    copy_code = status.find_element(By.CSS_SELECTOR, ".kbd.copy")
    assert copy_code.get_attribute("data-copy") == code and "复制" in text_of(copy_code)

    severe = [
        entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
    ]
    assert not severe, severe


def text_of(element: WebElement) -> str:
    """The element's whole text, scrolled into view or not."""
    return element.get_attribute("textContent") or ""


def mine_id(message: WebElement) -> int:
    return int(message.get_attribute("data-id") or 0)
