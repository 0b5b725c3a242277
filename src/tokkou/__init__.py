"""tokkou — 二地域居住・関係人口施策の特別交付税 calculation engine and Excel add-in."""
__version__ = "0.1.0"
