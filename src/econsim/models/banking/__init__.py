"""The banking economy (Ravelin): households, firms, banks, a central bank and a government.

``survey`` reads household microdata in the BLS CE Interview family-file schema; ``spending`` is the
spending model learned from it (``econsim banking train / predict / validate``).
"""
