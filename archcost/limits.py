"""Documented limits that keep any spec or table file, however hostile, in bounded time and memory.

Every limit is checked where the value is read, and exceeding one is a user error (exit 2) with
a message naming the limit. docs/limits.md lists them with what each one stops; a test checks
that every name and value here appears there.
"""

# reading files (archcost/yamlio.py)
MAX_FILE_BYTES = 8 * 1024 * 1024  # a spec or table file larger than this is refused unread
MAX_YAML_NODES = 1_000_000  # YAML nodes in one file (an alias counts once: it is not copied)
MAX_YAML_DEPTH = 64  # nesting depth of YAML collections
MAX_NUMBER_CHARS = 100  # characters of one number written in YAML

# values and expressions (archcost/expr.py, archcost/spec.py)
MAX_DIM = 1 << 24  # channels, height, width, kernel, stride, ... (16,777,216)
MAX_COUNT = 1 << 60  # params, MACs, ops or buffers a user-defined primitive declares for one row
MAX_EXPR_CHARS = 400  # characters in one expression field
MAX_EXPONENT = 64  # |exponent| of ** and |ndigits| of round() in an expression
MAX_NUMBER_BITS = 256  # bit length of any intermediate value in an expression

# expansion (archcost/spec.py)
MAX_ROWS = 200_000  # rows in one list (a spec's or block's layers), and row edits in one variant
MAX_REPEAT = 100_000  # one row's `repeat:`
MAX_NODES = 500_000  # primitive nodes in one network after expansion (googlenet: 229)
MAX_ROW_EXPANSIONS = 1_000_000  # rows expanded in one build, counting each block use and repeat
MAX_VALUES = 2_000_000  # fields, list items, inputs and block arguments read in one build
MAX_COLUMNS = 64  # distinct block columns in one network; columns of one table file
MAX_BLOCK_DEPTH = 16  # blocks inside blocks
MAX_EXTENDS_DEPTH = 16  # files in one chain of `extends:`
MAX_LABEL_CHARS = 1_000  # characters of a row label, a spec's name or title (table cells)
MAX_TYPE_WORDS = 8  # leading words of a row label tried as its type ("max pool 3x3/2")

# commands (archcost/tables.py, archcost/symbolic.py, archcost/report.py, archcost/cli.py)
MAX_TABLE_WORK = 400_000  # rows, cells, and the work of every network, for one table file
MAX_TABLE_NETWORKS = 64  # distinct networks (network, set, train) one table file builds
MAX_PRINTED_DIGITS = 30  # digits of a printed number in a table file
MAX_SYMBOLIC_NODES = 2_000  # layers shown by `table --symbolic` (sympy: a few ms a layer)
MAX_RICH_ROWS = 2_000  # longer text tables are laid out without rich (~0.7 ms a row)
MAX_MESSAGE_CHARS = 1_000  # characters of an error line (a label may be megabytes long)
