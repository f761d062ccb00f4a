"""The Bot API emulator under the name the tests have always used.

The emulator is product code now, `sandbox.emulator` (the sandbox runs the real bot against
it); the tests keep importing `from tests.fake_telegram import FakeTelegram, FakeUser`.
"""

from sandbox.emulator import Call, FakeChat, FakeTelegram, FakeUser, StoredFile

__all__ = ["Call", "FakeChat", "FakeTelegram", "FakeUser", "StoredFile"]
