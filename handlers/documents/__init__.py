"""Documents the bot sends: charts, spreadsheets and printable lists, rendered from domain data.

Renderers are plain functions returning bytes; the texts in them go through the translation
layer, so they come out in the locale that is current when they are called.
"""
