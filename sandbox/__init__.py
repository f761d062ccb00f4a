"""The sandbox: the real bot against a local Bot API emulator, played from a web page.

`sandbox.emulator` is the Bot API emulator (the end-to-end tests and the benchmark use it
too); the rest of the package runs `bot.app.serve()` against it and serves the page.
Nothing in `bot`, `handlers` or `storage` imports this package.
"""
