"""Fill a database with many tips, then time `/status` and start-up against it.

    python -m benchmarks.fill_db                  # 1,000,000 tips (a few minutes)
    python -m benchmarks.fill_db --tips 100000    # a quick run
    python -m benchmarks.fill_db --dir D --keep   # keep D; a later run with --dir D reuses it

Tips are made as `ReceiptService.submit` leaves them once the sender has delivered its outbox
rows: a report row with a fresh data key wrapped by the real Vault, the area and contact sealed
under it, the receipt's keyed hash (and receipt box, where the code has one), two sealed text
items, and one finished outbox row for each row `submit` queues. They are written with plain
INSERTs in large transactions, because the real path costs several fsynced transactions a tip.
Before filling, one tip goes through the real IntakeService in a scratch database, to learn
which outbox rows and report columns it writes; after filling, one more goes through it in the
filled database and its rows are compared with the bulk ones, so a schema change that the
filler does not follow is reported as drift.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("PTB_TIMEDELTA", "1")

from benchmarks.fake import FINANCE_CHAT, REVIEW_CHAT, BenchTelegram
from benchmarks.process import BotProcess
from benchmarks.report import latency_summary, machine, table, write_json
from bot.crypto import vault as vault_module
from bot.crypto.keys import open_vault
from bot.crypto.vault import INDEX_KEY_NAME, KeyRing, Vault, WrappedKey, new_master_key_text
from bot.domain import alias, codes
from bot.domain import policy as policy_module
from bot.domain.errors import ReceiptUnknown
from bot.domain.items import ItemKind
from bot.domain.report import ReportStatus
from bot.services.base import ServiceEnv
from bot.services.intake import IntakeService
from bot.services.receipts import ReceiptService
from storage import keys as keys_repo
from storage.blobs import BlobStore
from storage.db import Database

CHUNK = 20_000
SPAN_SECONDS = 365 * 24 * 3600  # the filled tips were submitted over the past year
SAMPLES = 1_000
CONTACT_SHARE = 0.7
AREAS = ("Harbour street", "North market", "East gate", "Old railway yard", "Riverside flats")
TEXTS = (
    "A white van unloads small parcels behind the laundry every Friday night.",
    "Two men wait in a grey car with the engine running while the driver goes in.",
    "People come and go from the flat above the pharmacy at all hours.",
    "Someone sells pills to students at the bus stop after school.",
)
STATUS_LOOKUPS = 300
UNKNOWN_LOOKUPS = 50
BOT_LOOKUPS = 30  # /status sent to the real bot process (fake without latency)
OPEN_REPEATS = 5
BIG_TABLES = ("reports", "items", "outbox", "report_events", "audit")

_REPORT_COLUMNS = (
    "id, uid, reference, year, seq, receipt_hash, category, alias, language, status, key_id,"
    " wrapped_key, sealed_area, sealed_contact, review_chat_id, review_message_id,"
    " submitted_at, updated_at"
)
# Filled in later by the sender (or erased by it once delivered): not compared for drift.
_SET_LATER = {"review_message_id", "anchor_message_id", "finished_at", "sealed_payload"}
# The public half of a receipt's key pair, where this version of tipline stores one.
_RECEIPT_BOX: Callable[[str, str], bytes] | None = getattr(vault_module, "receipt_box_public", None)
_OUTBOX_COLUMNS = (
    "report_id, target, chat_id, kind, sealed_payload, not_before, status, parts_sent,"
    " anchor_message_id, attempts, last_error, created_at, finished_at"
)


def _marks(columns: str) -> str:
    return ", ".join("?" for _ in columns.split(","))


@dataclass(frozen=True)
class Template:
    """What the real `submit` writes: report columns it sets, outbox rows it queues."""

    report_columns: frozenset[str]
    outbox: tuple[tuple[str, str, bool], ...]  # (target, kind, has chat_id) per row

    @property
    def receipt_box(self) -> bool:
        return "receipt_box" in self.report_columns and _RECEIPT_BOX is not None


Row = tuple[Any, ...]


@dataclass(frozen=True)
class Chunk:
    """Rows for a run of consecutive tips, and the receipts sampled among them."""

    reports: list[Row]
    items: list[Row]
    outbox: list[Row]
    samples: list[tuple[str, str]]


@dataclass(frozen=True)
class FillPlan:
    """Everything a worker process needs to make any run of tips (picklable)."""

    key_text: str
    index_secret: bytes
    categories: tuple[str, ...]
    tips: int
    start: int
    template: Template
    first_of_year: dict[int, int]  # the first tip number submitted in each year

    @classmethod
    def new(
        cls,
        key_text: str,
        index_secret: bytes,
        categories: Sequence[str],
        tips: int,
        template: Template,
    ) -> FillPlan:
        start = int(time.time()) - SPAN_SECONDS
        first_of_year: dict[int, int] = {}
        for number in range(1, tips + 1):
            first_of_year.setdefault(_year(_submitted(start, number, tips)), number)
        return cls(key_text, index_secret, tuple(categories), tips, start, template, first_of_year)

    @property
    def report_columns(self) -> str:
        return _REPORT_COLUMNS + (", receipt_box" if self.template.receipt_box else "")


def _submitted(start: int, number: int, tips: int) -> int:
    return start + (number - 1) * SPAN_SECONDS // tips


def _year(timestamp: int) -> int:
    return datetime.fromtimestamp(timestamp, UTC).year


_VAULTS: dict[str, Vault] = {}


def _receipt() -> str:
    """A receipt like `codes.new_receipt()` (100 random bits, same alphabet and grouping),
    made from one urandom call instead of twenty."""
    bits = int.from_bytes(os.urandom(13)) >> 4
    raw = "".join(codes.ALPHABET[(bits >> (5 * i)) & 31] for i in range(codes.RECEIPT_CHARS))
    step = codes.RECEIPT_GROUP
    return "-".join(raw[i : i + step] for i in range(0, len(raw), step))


def make_chunk(plan: FillPlan, first: int, count: int) -> Chunk:
    """Tips number `first` to `first + count - 1`, sealed with the real Vault."""
    vault = _VAULTS.get(plan.key_text)
    if vault is None:
        ring = KeyRing.from_texts([plan.key_text])
        vault = _VAULTS[plan.key_text] = Vault(ring, plan.index_secret)
    rng = random.Random(first)
    sample_every = max(1, plan.tips // SAMPLES)
    template = plan.template
    chunk = Chunk([], [], [], [])
    for report_id in range(first, first + count):
        submitted = _submitted(plan.start, report_id, plan.tips)
        minute = submitted - submitted % 60
        year = _year(submitted)
        seq = report_id - plan.first_of_year[year] + 1
        reference = f"T-{year}-{seq:04d}"
        uid = vault.new_uid()
        key, wrapped = vault.new_data_key(uid)
        receipt = _receipt()
        normalized = codes.normalize_receipt(receipt)
        assert normalized is not None
        contact = (
            key.seal_text("contact", str(rng.randrange(10**8, 10**10)))
            if rng.random() < CONTACT_SHARE
            else None
        )
        message_id = 1000 + report_id
        box = (_RECEIPT_BOX(normalized, uid),) if template.receipt_box and _RECEIPT_BOX else ()
        chunk.reports.append(
            (
                report_id,
                uid,
                reference,
                year,
                seq,
                vault.receipt_hash(normalized),
                rng.choice(plan.categories),
                alias.new_alias(),
                "zh" if rng.random() < 0.3 else "en",
                str(ReportStatus.NEW),
                wrapped.key_id,
                wrapped.blob,
                key.seal_text("area", "text:" + rng.choice(AREAS)),
                contact,
                REVIEW_CHAT,
                message_id,
                minute,
                minute,
                *box,
            )
        )
        for position in (1, 2):
            payload = json.dumps({"kind": ItemKind.TEXT, "text": rng.choice(TEXTS)}).encode()
            chunk.items.append((uid, position, key.seal("item", payload), None))
        for target, kind, has_chat in template.outbox:
            chunk.outbox.append(
                (
                    report_id,
                    target,
                    REVIEW_CHAT if has_chat else None,
                    kind,
                    None,
                    submitted,
                    "sent",
                    1,
                    message_id if target == "staff" else message_id + 1,
                    0,
                    None,
                    minute,
                    submitted,
                )
            )
        if report_id % sample_every == 0 or report_id == plan.tips:
            chunk.samples.append((receipt, reference))
    return chunk


async def _insert_chunk(db: Database, report_columns: str, chunk: Chunk) -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            f"INSERT INTO reports ({report_columns}) VALUES ({_marks(report_columns)})",
            chunk.reports,
        )
        await conn.executemany(
            "INSERT INTO items (uid, position, sealed, blob_name) VALUES (?, ?, ?, ?)", chunk.items
        )
        await conn.executemany(
            f"INSERT INTO outbox ({_OUTBOX_COLUMNS}) VALUES ({_marks(_OUTBOX_COLUMNS)})",
            chunk.outbox,
        )


async def _real_tip(db: Database, vault: Vault, data_dir: Path) -> tuple[str, str]:
    """One tip through the real IntakeService, as a reference row and a sequence check."""
    policy = policy_module.load(None)
    env = ServiceEnv(db, vault, BlobStore(data_dir / "blobs"), policy, REVIEW_CHAT, FINANCE_CHAT)
    intake, receipts = IntakeService(env), ReceiptService(env)
    user_id = 5_550_000_001
    await intake.start(user_id, "en")
    await intake.choose_category(user_id, policy.intake.categories[0].key)
    await intake.choose_area(user_id, area_key=None, typed=AREAS[0])
    await intake.add_text(user_id, TEXTS[0])
    await intake.add_text(user_id, TEXTS[1])
    await intake.review(user_id)
    submission = await receipts.submit(user_id, user_id)
    return submission.receipt, submission.reference


async def _rows(db: Database, sql: str, value: Any) -> list[dict[str, Any]]:
    async with db.read() as conn, conn.execute(sql, (value,)) as cursor:
        return [{name: row[name] for name in row.keys()} for row in await cursor.fetchall()]


def _set_columns(row: dict[str, Any]) -> frozenset[str]:
    """The columns a row sets (not NULL), leaving out those the sender fills in later."""
    return frozenset(name for name, value in row.items() if value is not None) - _SET_LATER


async def _tip_shape(db: Database, reference: str) -> tuple[Any, ...]:
    """Report, items and outbox rows of one tip, reduced to the columns they set."""
    report = (await _rows(db, "SELECT * FROM reports WHERE reference = ?", reference))[0]
    items = await _rows(db, "SELECT * FROM items WHERE uid = ?", report["uid"])
    outbox = await _rows(db, "SELECT * FROM outbox WHERE report_id = ?", report["id"])
    return (
        _set_columns(report),
        sorted(sorted(_set_columns(item)) for item in items),
        sorted((row["target"], row["kind"], sorted(_set_columns(row))) for row in outbox),
    )


async def _probe(directory: Path) -> Template:
    """Submit one real tip into a scratch database and note what it wrote."""
    db = await Database.open(directory)
    try:
        await db.migrate()
        vault = await open_vault(KeyRing.from_texts([new_master_key_text()]), db)
        _, reference = await _real_tip(db, vault, directory)
        report = (await _rows(db, "SELECT * FROM reports WHERE reference = ?", reference))[0]
        outbox = await _rows(
            db, "SELECT * FROM outbox WHERE report_id = ? ORDER BY id", report["id"]
        )
    finally:
        await db.close()
        shutil.rmtree(directory, ignore_errors=True)
    return Template(
        frozenset(name for name, value in report.items() if value is not None),
        tuple((row["target"], row["kind"], row["chat_id"] is not None) for row in outbox),
    )


async def _drift(db: Database, real_reference: str) -> list[str]:
    """Differences between the rows of the real tip and of a bulk tip that allows contact."""
    async with (
        db.read() as conn,
        conn.execute(
            "SELECT reference FROM reports WHERE sealed_contact IS NOT NULL ORDER BY id LIMIT 1"
        ) as cursor,
    ):
        row = await cursor.fetchone()
    assert row is not None
    real = await _tip_shape(db, real_reference)
    bulk = await _tip_shape(db, row["reference"])
    return [
        f"{name}: real code writes {r}, the filler writes {b}"
        for name, r, b in zip(("reports", "items", "outbox"), real, bulk, strict=True)
        if r != b
    ]


async def _insert_all(db: Database, plan: FillPlan) -> list[tuple[str, str]]:
    """Make chunks in worker processes (one a CPU) while this one inserts them, in order."""
    loop = asyncio.get_running_loop()
    workers = max(1, os.cpu_count() or 1)
    starts = deque(range(1, plan.tips + 1, CHUNK))
    samples: list[tuple[str, str]] = []
    made = 0
    began = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        queued: deque[asyncio.Future[Chunk]] = deque()

        def queue_next() -> None:
            first = starts.popleft()
            count = min(CHUNK, plan.tips - first + 1)
            queued.append(loop.run_in_executor(pool, make_chunk, plan, first, count))

        while starts and len(queued) <= workers:
            queue_next()
        while queued:
            chunk = await queued.popleft()
            if starts:
                queue_next()
            await _insert_chunk(db, plan.report_columns, chunk)
            samples += chunk.samples
            made += len(chunk.reports)
            if made % (CHUNK * 10) == 0 or made == plan.tips:
                rate = made / (time.monotonic() - began)
                print(f"  {made:,} tips ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    return samples


async def _index_secret(db: Database, vault: Vault) -> bytes:
    """The index secret `open_vault` stored, for the worker processes' vaults.

    Checked against the bot's own vault, so a change in how it is kept shows up here."""
    async with db.read() as conn:
        stored = await keys_repo.get_secret(conn, INDEX_KEY_NAME)
    assert stored is not None
    ring = vault.ring
    secret = Vault(ring).unwrap("vault:index", WrappedKey(*stored)).material
    if Vault(ring, secret).receipt_hash("0" * 20) != vault.receipt_hash("0" * 20):
        raise RuntimeError("fill_db no longer knows how the vault keeps its index secret")
    return secret


async def fill(tips: int, directory: Path) -> dict[str, Any]:
    """Create directory/data/tipline.sqlite3 with `tips` delivered tips, plus fill.json."""
    data_dir = directory / "data"
    key_text = new_master_key_text()
    categories = [c.key for c in policy_module.load(None).intake.categories]
    template = await _probe(directory / "probe")
    began = time.monotonic()
    db = await Database.open(data_dir)
    try:
        await db.migrate()
        vault = await open_vault(KeyRing.from_texts([key_text]), db)
        plan = FillPlan.new(key_text, await _index_secret(db, vault), categories, tips, template)
        samples = await _insert_all(db, plan)
        filled_in = time.monotonic() - began
        real_receipt, real_reference = await _real_tip(db, vault, data_dir)
        drift = await _drift(db, real_reference)
        await db.checkpoint()
    finally:
        await db.close()
    info = {
        "tips": tips + 1,
        "fill_seconds": round(filled_in, 1),
        "tips_per_second": round(tips / filled_in),
        "master_key": key_text,  # synthetic data only: the key is kept to look tips up
        "samples": [*samples, (real_receipt, real_reference)],
        "schema_drift": drift,
    }
    (directory / "fill.json").write_text(json.dumps(info), encoding="utf-8")
    return info


def _disk_bytes(data_dir: Path) -> int:
    return sum(path.stat().st_size for path in data_dir.rglob("*") if path.is_file())


async def _open_and_migrate(data_dir: Path) -> float:
    began = time.perf_counter()
    db = await Database.open(data_dir)
    await db.migrate()
    elapsed = time.perf_counter() - began
    await db.close()
    return elapsed


async def _trace_plans(
    db: Database, intake: IntakeService, receipts: ReceiptService, receipt: str
) -> list[dict[str, Any]]:
    """The statements of one /status, one outbox poll and the sweeps, with their query plans."""
    from storage import outbox as outbox_repo

    statements: list[str] = []
    async with db.read() as conn:
        await conn.set_trace_callback(statements.append)
    try:
        await receipts.status(4_000_000_001, receipt)
        async with db.read() as conn:
            await outbox_repo.pending(conn, "staff", 200)
        await intake.purge_stale_drafts()
        await receipts.purge_old_counters()
    finally:
        async with db.read() as conn:
            await conn.set_trace_callback(None)  # type: ignore[arg-type]  # sqlite3 takes None
    plans = []
    seen: set[str] = set()
    for sql in statements:
        head = sql.lstrip().split(None, 1)[0].upper()
        if head not in ("SELECT", "UPDATE", "DELETE", "INSERT") or sql in seen:
            continue
        seen.add(sql)
        async with db.read() as conn, conn.execute("EXPLAIN QUERY PLAN " + sql) as cursor:
            detail = [str(row[3]) for row in await cursor.fetchall()]
        full_scans = [
            d
            for d in detail
            if d.startswith("SCAN ")
            and d.split()[1] in BIG_TABLES
            and "USING INDEX" not in d
            and "USING COVERING INDEX" not in d
        ]
        plans.append({"sql": sql[:160], "plan": detail, "full_scan": bool(full_scans)})
    return plans


async def _process_start(
    data_dir: Path, key_text: str, workdir: Path, samples: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    """Spawn the real bot on this database against a fake with no latency, until ready;
    then ask it for `/status` of each sample, as a tipster would, and check the answer."""
    async with BenchTelegram(latency=0.0) as fake:
        fake.add_staff_groups()
        bot = await BotProcess.start(
            [
                "tipline",
                "--api-url",
                fake.url,
                "--token",
                fake.token,
                "--data-dir",
                str(data_dir),
                "--master-key",
                key_text,
            ],
            workdir / "start.log",
        )
        calls = len(fake.calls)
        answered: list[float] = []
        try:
            for n, (receipt, reference) in enumerate(samples):
                user_id = 3_900_000_000 + n
                fake.add_user(user_id, "Tipster", language_code="en")
                feed = fake.feed(user_id)
                sent_at = time.monotonic()
                fake.user_sends_text(user_id, f"/status {receipt}")
                message, stored_at = await feed.next_matching(lambda m: True, 10.0)
                if reference not in str(message.get("_plain", "")):
                    raise AssertionError(f"/status through the bot did not name {reference}")
                answered.append(stored_at - sent_at)
        finally:
            await bot.stop()
    return {
        "seconds": round(bot.startup_seconds, 3),
        "api_calls_before_ready": calls,
        "status_via_bot": latency_summary(answered),
    }


async def measure(directory: Path) -> dict[str, Any]:
    """Time open + migrate, /status with real receipts, and a process start, on a filled DB."""
    info = json.loads((directory / "fill.json").read_text(encoding="utf-8"))
    data_dir = directory / "data"
    key_text = info["master_key"]
    opens = [await _open_and_migrate(data_dir) for _ in range(OPEN_REPEATS)]

    db = await Database.open(data_dir)
    try:
        await db.migrate()
        vault = await open_vault(KeyRing.from_texts([key_text]), db)
        policy = policy_module.load(None)
        blobs = BlobStore(data_dir / "blobs")
        env = ServiceEnv(db, vault, blobs, policy, REVIEW_CHAT, FINANCE_CHAT)
        intake, receipts = IntakeService(env), ReceiptService(env)
        samples = [tuple(s) for s in info["samples"]]
        picks = random.Random(7).choices(samples, k=STATUS_LOOKUPS)
        found: list[float] = []
        for n, (receipt, reference) in enumerate(picks):
            began = time.perf_counter()
            view = await receipts.status(3_000_000_000 + n, receipt)
            found.append(time.perf_counter() - began)
            if view.reference != reference:
                raise AssertionError(f"receipt found {view.reference}, expected {reference}")
        unknown: list[float] = []
        for n in range(UNKNOWN_LOOKUPS):
            began = time.perf_counter()
            try:
                await receipts.status(3_500_000_000 + n, codes.new_receipt())
            except ReceiptUnknown:
                pass
            else:
                raise AssertionError("a random receipt found a tip")
            unknown.append(time.perf_counter() - began)
        plans = await _trace_plans(db, intake, receipts, picks[0][0])
    finally:
        await db.close()

    workdir = Path(tempfile.mkdtemp(prefix="tipline-start-"))
    try:
        start_full = await _process_start(data_dir, key_text, workdir, picks[:BOT_LOOKUPS])
        start_empty = await _process_start(workdir / "empty", new_master_key_text(), workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "tips": info["tips"],
        "fill_seconds": info["fill_seconds"],
        "fill_tips_per_second": info["tips_per_second"],
        "schema_drift": info["schema_drift"],
        "disk_mb": round(_disk_bytes(data_dir) / 1e6, 1),
        "open_and_migrate_s": {
            "first": round(opens[0], 4),
            "median": round(statistics.median(opens), 4),
            "max": round(max(opens), 4),
        },
        "status_lookup_ms": latency_summary(found),
        "status_unknown_receipt_ms": latency_summary(unknown),
        "process_start_to_ready_s": start_full["seconds"],
        "process_start_to_ready_empty_db_s": start_empty["seconds"],
        "api_calls_before_ready": start_full["api_calls_before_ready"],
        "status_via_bot_ms": start_full["status_via_bot"],
        "query_plans": plans,
    }


def _holds_fill(directory: Path, tips: int) -> bool:
    """True when `directory` already holds a fill of `tips`; otherwise make it empty."""
    existing = directory / "fill.json"
    if existing.exists() and json.loads(existing.read_text())["tips"] == tips + 1:
        return True
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return False


async def fill_and_measure(tips: int, directory: Path, *, keep: bool) -> dict[str, Any]:
    """Fill `directory` (unless it already holds a fill of that size), then measure."""
    try:
        if _holds_fill(directory, tips):
            print(f"  reusing the {tips:,} tips in {directory}", file=sys.stderr)
        else:
            await fill(tips, directory)
        return await measure(directory)
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


def describe(result: dict[str, Any]) -> str:
    """The fill results as a short table."""
    status, unknown = result["status_lookup_ms"], result["status_unknown_receipt_ms"]
    via = result["status_via_bot_ms"]
    rows = [
        ["tips in the database", f"{result['tips']:,}"],
        ["fill time", f"{result['fill_seconds']:,.1f} s ({result['fill_tips_per_second']:,}/s)"],
        ["database on disk", f"{result['disk_mb']:,.1f} MB"],
        ["open + migrate (median)", f"{result['open_and_migrate_s']['median'] * 1000:,.1f} ms"],
        ["process start to ready", f"{result['process_start_to_ready_s']:,.2f} s"],
        [
            "process start, empty db",
            f"{result['process_start_to_ready_empty_db_s']:,.2f} s",
        ],
        [
            "/status p50 / p99",
            f"{status['p50_ms']:.2f} / {status['p99_ms']:.2f} ms (n={status['n']})",
        ],
        [
            "/status through the bot",
            f"{via['p50_ms']:.1f} / {via['p99_ms']:.1f} ms (n={via['n']}, no API latency)",
        ],
        [
            "/status, unknown receipt",
            f"{unknown['p50_ms']:.2f} / {unknown['p99_ms']:.2f} ms (n={unknown['n']})",
        ],
        [
            "full scans on hot paths",
            ", ".join(p["sql"][:60] for p in result["query_plans"] if p["full_scan"]) or "none",
        ],
    ]
    if result["schema_drift"]:
        rows.append(["SCHEMA DRIFT", "; ".join(result["schema_drift"])])
    return table(rows, ["filled database", "measured"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fill_db", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--tips", type=int, default=1_000_000, help="tips to fill (1,000,000)")
    parser.add_argument("--dir", type=Path, help="where to build it (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--out", type=Path, help="the JSON file (default results/<time>.json)")
    args = parser.parse_args(argv)
    directory = args.dir or Path(tempfile.mkdtemp(prefix="tipline-fill-"))
    result = asyncio.run(fill_and_measure(args.tips, directory, keep=args.keep or bool(args.dir)))
    print(describe(result))
    path = write_json(
        {
            "benchmark": "tipline: filled database",
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine(),
            "parameters": {"tips": args.tips, "argv": sys.argv[1:]},
            "fill": result,
        },
        args.out,
    )
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
