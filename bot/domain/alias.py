"""Random aliases for tipsters, one per tip ("amber-otter"): memorable, meaningless."""

from __future__ import annotations

import secrets

_ADJECTIVES = (
    "amber azure brisk calm cedar coral crimson dawn dusky ember fern frost gentle golden"
    " hazel ivory jade keen lilac lunar maple misty noble ochre olive pearl quiet rapid russet"
    " sable sage silver slate snowy solar spruce steady swift tawny teal umber velvet violet"
    " willow windy"
).split()
_ANIMALS = (
    "badger beaver bison crane curlew dolphin egret falcon ferret finch gecko heron ibex"
    " jackal kestrel koala lark lemur lynx magpie marten mink moose newt ocelot orca osprey"
    " otter owl panda pelican puffin quail raven robin seal shrike stoat swan tapir tern"
    " walrus wren yak zebra"
).split()


def new_alias() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_ANIMALS)}"
