"""Documented limits that keep any spec, however hostile, in bounded time and memory.

Every limit is checked where the value is read, and exceeding one is a user error (exit 2).
"""

MAX_FILE_BYTES = 4 * 1024 * 1024  # a spec or table file larger than this is refused unread
MAX_YAML_NODES = 250_000  # YAML nodes in one file (an alias counts once: it is not copied)
MAX_YAML_DEPTH = 64  # nesting depth of YAML collections
MAX_NUMBER_CHARS = 100  # characters of one number written in YAML
MAX_DIM = 1 << 24  # channels, height, width, kernel, stride, ... (16,777,216)
MAX_REPEAT = 100_000  # one row's `repeat:`
MAX_NODES = 100_000  # primitive nodes in one network after expansion (googlenet: 229)
MAX_ROW_EXPANSIONS = 200_000  # rows expanded in one build, counting each block use and repeat
MAX_ROWS = 10_000  # rows in one list (a spec's or block's layers), and row edits in one variant
MAX_SYMBOLIC_NODES = 5_000  # layers shown by `table --symbolic` (sympy: a few ms a layer)
MAX_TABLE_WORK = 400_000  # rows and layers expanded over all networks one table file builds
MAX_PRINTED_DIGITS = 30  # digits of a printed number in a table file
MAX_BLOCK_DEPTH = 16  # blocks inside blocks
MAX_EXTENDS_DEPTH = 16  # files in one chain of `extends:`
MAX_TYPE_WORDS = 8  # leading words of a row label tried as its type ("max pool 3x3/2")
MAX_EXPR_CHARS = 400  # characters in one expression field
MAX_EXPONENT = 64  # |exponent| of ** in an expression
MAX_NUMBER_BITS = 256  # bit length of any intermediate value in an expression
