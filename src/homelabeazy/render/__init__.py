"""Renderers: pure functions Homelab -> {relative path: text}; writer.py writes them."""

from homelabeazy.render.registry import TARGETS, render_all

__all__ = ["TARGETS", "render_all"]
