"""The ``archcost`` command: a click group whose verbs are imported only when used.

Errors: a user's mistake (:class:`SpecError`, a bad option) prints one line
``error: FILE:LINE: message`` on stderr and exits 2; an unexpected exception is a bug in
archcost and prints ``internal error: ...`` and exits 3 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from . import __version__
from .errors import SpecError, brief
from .limits import MAX_MESSAGE_CHARS

# verb -> module exposing `command`; importing only the verb in use keeps start-up fast
COMMANDS = {
    "table": "archcost.commands.table",
    "check": "archcost.commands.check",
    "list": "archcost.commands.listing",
    "compare": "archcost.commands.compare",
    "diff": "archcost.commands.diff",
    "formula": "archcost.commands.formula",
    "solve": "archcost.commands.solve",
    "sweep": "archcost.commands.sweep",
    "verify": "archcost.commands.verify",
    "bench": "archcost.commands.bench",
    "memory": "archcost.commands.memory",
    "predict": "archcost.commands.predict",
    "calibrate": "archcost.commands.calibrate",
    "import": "archcost.commands.import_cmd",
    "layers": "archcost.commands.layers",
    "graph": "archcost.commands.graph",
    "report": "archcost.commands.report",
}

# packages archcost depends on (pyproject.toml), by module: missing, they are a set-up error,
# not a bug (torch, onnx and matplotlib are extras, with messages of their own where used)
INSTALLABLE = {"rich": "rich", "sympy": "sympy", "yaml": "pyyaml", "click": "click",
               "matplotlib": "matplotlib"}  # fmt: skip
BUG_REPORT = "please report it with the command line and the spec file"


class LazyGroup(click.Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Map errors to exit codes here, not only in :func:`main`, so that click.testing's
        ``CliRunner().invoke(cli, ...)`` behaves exactly like the command line."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        return _guarded(lambda argv: super(LazyGroup, self).main(
            argv, prog_name or "archcost", complete_var, False, **extra), args)  # fmt: skip

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        module = COMMANDS.get(name)
        if module is None:
            return None
        return importlib.import_module(module).command

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name is not None and name not in COMMANDS and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise click.UsageError(f"no such command '{name}'{hint}")
        return super().resolve_command(ctx, args)


@click.group("archcost", cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archcost")
@click.option("--debug", is_flag=True, help="Show the traceback of internal errors.")
def cli(debug):
    """Static architecture cost analyzer: exact params, MACs and activation memory of a
    network from a YAML spec, per layer and in total, without importing torch.

    SPEC is a built-in name (googlenet, resnet50, mobilenet, ...; see `archcost list`),
    NAME:VARIANT (googlenet:torchvision) or a path to a YAML file.

    \b
    Conventions: params are trainable weights and biases (BN running stats are buffers,
    reported apart); MACs are multiply-accumulates of conv, linear and matrix-product
    (attention) layers; FLOPs = 2 x MACs wherever FLOPs are shown; other ops (pooling, BN,
    activations, adds) are a separate column; activations are output elements per sample.

    \b
    Examples:
      archcost table specs/googlenet.yaml
      archcost compare vgg16 googlenet mobilenet
      archcost check
    """


def main(argv=None) -> None:
    cli.main(args=sys.argv[1:] if argv is None else list(argv), prog_name="archcost")


def _guarded(run, argv) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args or os.environ.get("ARCHCOST_DEBUG") == "1"
    try:
        rv = run(args)
    except SpecError as err:
        _fail(f"error: {err}", 2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        _fail("error: aborted", 130)
    except click.UsageError as err:
        message = err.format_message().replace("\n", " ")
        cmd = err.ctx.command_path if err.ctx else "archcost"
        _fail(f"error: {message} (see '{cmd} --help')", 2)
    except click.ClickException as err:
        _fail(f"error: {err.format_message()}", err.exit_code)
    except (BrokenPipeError, KeyboardInterrupt):
        sys.exit(130 if not isinstance(sys.exc_info()[1], BrokenPipeError) else 0)
    except ModuleNotFoundError as exc:
        if exc.name not in INSTALLABLE or debug:
            raise
        _fail(f"error: this command needs the {INSTALLABLE[exc.name]} package, which is not "
              f"installed: pip install -e . (in the checkout), or pip install "
              f"{INSTALLABLE[exc.name]}", 2)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            raise
        _fail(f"internal error: {type(exc).__name__}: {_exception_text(exc)} ({BUG_REPORT}; "
              "--debug shows the traceback)", 3)  # fmt: skip
    sys.exit(rv if isinstance(rv, int) else 0)


def _exception_text(exc) -> str:
    # str() of an exception holding a value from a spec (a KeyError on an aliased list) could
    # take forever; plain arguments are safe to print, anything else is shown in brief
    if all(isinstance(a, (str, int, float)) or a is None for a in exc.args):
        return str(exc)[: 4 * MAX_MESSAGE_CHARS]
    return brief(exc.args)


def _fail(message: str, code: int):
    sys.stdout.flush()
    sys.stderr.write(_one_line(message) + "\n")
    sys.exit(code)


def _one_line(message: str) -> str:
    """One printable line: a spec's labels may hold newlines or terminal escape sequences,
    and a message quoting a 4 MB label is cut."""
    message = message[: 4 * MAX_MESSAGE_CHARS].replace("\r\n", " ").replace("\n", " ")
    message = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                      for ch in message)  # fmt: skip
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 3] + "..."
    return message


if __name__ == "__main__":  # pragma: no cover
    main()
