"""Documented limits that keep any spec or table file, however hostile, in bounded time and memory.

The one source of every limit: docs/limits.md and docs/spec.md quote these values, and
tests/test_limits_docs.py checks that they agree. Each value is low enough that every command
at every limit finishes within 10 s of CPU and 1 GB (tests/test_limits_worst.py).

Every limit is checked where the value is read, and exceeding one is a user error (exit 2) with
a message naming the limit. docs/limits.md lists them with what each one stops; a test checks
that every name and value here appears there.
"""

# reading files (archcost/yamlio.py)
MAX_FILE_BYTES = 8 * 1024 * 1024  # a spec or table file larger than this is refused unread
MAX_YAML_NODES = 700_000  # YAML nodes in one file (an alias counts once: it is not copied)
MAX_YAML_DEPTH = 64  # nesting depth of YAML collections
MAX_NUMBER_CHARS = 100  # characters of one number written in YAML

# values and expressions (archcost/expr.py, archcost/spec/)
MAX_DIM = 1 << 24  # channels, height, width, kernel, stride, ... (16,777,216)
MAX_COUNT = 1 << 60  # params, MACs, ops or buffers a user-defined primitive declares for one row
MAX_EXPR_CHARS = 400  # characters in one expression field
MAX_EXPONENT = 64  # |exponent| of ** and |ndigits| of round() in an expression
MAX_NUMBER_BITS = 256  # bit length of any intermediate value in an expression
MAX_EXPR_WORK = 250_000  # expression work in one build: characters compiled + operators evaluated

# expansion (archcost/spec/)
MAX_ROWS = 100_000  # rows in one list (a spec's or block's layers), and row edits in one variant
MAX_REPEAT = 100_000  # one row's `repeat:`
MAX_NODES = 100_000  # primitive nodes in one network after expansion (googlenet: 229)
MAX_ROW_EXPANSIONS = 250_000  # rows expanded in one build, counting each block use and repeat
MAX_VALUES = 500_000  # fields, list items, inputs and block arguments read in one build
MAX_COLUMNS = 64  # distinct block columns in one network; columns of one table file
MAX_COLUMN_CELLS = 1_600_000  # block column cells of one network's rows (rows x columns)
MAX_BLOCK_DEPTH = 16  # blocks inside blocks
MAX_EXTENDS_DEPTH = 16  # files in one chain of `extends:`
MAX_LABEL_CHARS = 1_000  # characters of a row label, a spec's name or title (table cells)
MAX_TYPE_WORDS = 8  # leading words of a row label tried as its type ("max pool 3x3/2")

# commands (archcost/tables.py, archcost/symbolic.py, archcost/report.py, archcost/cli.py)
MAX_TABLE_WORK = 200_000  # rows, cells, and the work of every network, for one table file
MAX_TABLE_NETWORKS = 64  # distinct networks (network, set, train) one table file builds
MAX_PRINTED_DIGITS = 30  # digits of a printed number in a table file
MAX_SYMBOLIC_NODES = 1_000  # layers shown by `table --symbolic` and `formula` (sympy: ms a layer)
MAX_FORMULA_TERMS = 20_000  # terms of the expanded polynomial of `formula --in ... --continuous`
MAX_RICH_ROWS = 2_000  # longer text tables are laid out without rich (~0.7 ms a row)
MAX_GRID_POINTS = 100_000  # points of one `sweep` grid, values of one `solve` grid
MAX_SWEEP_WORK = 600_000  # work of one sweep or solve: each point's layers + expression work + 4
MAX_DIFF_NODES = 120_000  # primitive nodes of the two networks `diff` builds, together
MAX_TORCH_NODES = 5_000  # layers of a network `verify` and `bench` build in torch
MAX_PLOT_ROWS = 300  # rows drawn by `table --plot` (the figure grows with them)
MAX_PLOT_LABEL_CHARS = 60  # characters of one label in a figure (longer ones are cut)
MAX_MESSAGE_CHARS = 1_000  # characters of an error line (a label may be megabytes long)

# device profiles (archcost/latency.py): every product and quotient of these stays finite
MIN_PROFILE_RATE = 1.0  # peak MAC/s, bytes/s and window ops/s: at least this
MAX_PROFILE_RATE = 1e30  # ... and at most this
MIN_EFFICIENCY = 1e-6  # efficiency.compute and efficiency.memory: in [MIN_EFFICIENCY, 1]
MAX_LAYER_OVERHEAD_S = 1.0  # layer_overhead_s: in [0, 1] second
