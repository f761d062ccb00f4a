"""`tipline poster` in a subprocess, as an operator runs it: the PNG's and the PDF's QR codes
read back as the campaign's link, and a wrong campaign or a missing username writes nothing."""

from __future__ import annotations

import pikepdf
import pytest
import zxingcpp
from PIL import Image

from tests.e2e.conftest import run_cli, write_policy
from tests.e2e.test_campaigns import CAMPAIGN, CAMPAIGN_POLICY
from tests.e2e.test_cli import _env

LINK = f"https://t.me/tipline_test_bot?start={CAMPAIGN}"


@pytest.fixture
def env(tmp_path):
    policy = write_policy(tmp_path / "policy.toml", CAMPAIGN_POLICY)
    return _env(tmp_path, None, TIPLINE_POLICY_FILE=str(policy))


def _read(image: Image.Image) -> list[str]:
    return [code.text for code in zxingcpp.read_barcodes(image)]


async def test_the_png_poster_is_a4_at_300_dpi_and_its_qr_code_opens_the_campaign(
    tmp_path, env
) -> None:
    out = tmp_path / "north.png"
    arguments = ["--campaign", CAMPAIGN, "--bot", "@tipline_test_bot", "--lang", "both"]
    code, stdout, err = await run_cli(
        tmp_path, env, "poster", *arguments, "--format", "png", "--out", str(out)
    )
    assert code == 0, err
    assert str(out) in stdout and LINK in stdout
    image = Image.open(out)
    assert image.format == "PNG" and image.size == (2480, 3508)
    assert [round(d) for d in image.info["dpi"]] == [300, 300]
    assert _read(image) == [LINK]


async def test_the_pdf_poster_is_one_a4_page_whose_image_holds_the_qr_code(tmp_path, env) -> None:
    env["TIPLINE_BOT_USERNAME"] = "tipline_test_bot"  # the username from the environment
    code, _, err = await run_cli(tmp_path, env, "poster", "--campaign", CAMPAIGN)
    assert code == 0, err
    out = tmp_path / f"poster-{CAMPAIGN}-zh.pdf"  # the default name: pdf, in Chinese
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        width, height = (float(v) for v in page.mediabox[2:])
        assert abs(width - 595.28) < 1 and abs(height - 841.89) < 1  # A4 in points
        (image,) = (pikepdf.PdfImage(x).as_pil_image() for x in page.Resources.XObject.values())
        assert image.size == (2480, 3508)
        assert _read(image) == [LINK]
        assert str(pdf.docinfo["/Title"]) == f"tipline poster: {CAMPAIGN}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--campaign", "nope", "--bot", "tipline_test_bot"],
            f"no campaign 'nope' in the policy's [[campaigns]] (it has: {CAMPAIGN}, citywide)",
        ),
        (
            ["--campaign", "north venues", "--bot", "tipline_test_bot"],
            "no campaign 'north venues' in the policy's [[campaigns]]",
        ),
        (["--campaign", CAMPAIGN], "needs the bot's username: give --bot USERNAME or set"),
        (["--campaign", CAMPAIGN, "--bot", "not a bot"], "is not a bot's username"),
        (["--bot", "tipline_test_bot"], "usage: tipline poster --campaign KEY"),
        (["--campaign", CAMPAIGN, "--bot", "tipline_test_bot", "--dpi", "5000"], "--dpi"),
    ],
)
async def test_a_wrong_request_is_one_clear_line_exit_2_and_no_file(
    tmp_path, env, arguments: list[str], message: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    code, _, err = await run_cli(folder, env, "poster", *arguments, "--format", "png")
    assert code == 2
    assert err.startswith("tipline: ") and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert list(folder.iterdir()) == []
