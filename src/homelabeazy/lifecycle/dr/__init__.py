"""Disaster-recovery drill: restore the latest backups into scratch servers and compare with live."""
