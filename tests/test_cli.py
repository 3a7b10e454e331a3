"""The CLI as users type it: through click.testing and as subprocesses."""

import json
import os

import pytest
from click.testing import CliRunner

from archcost.cli import cli

from .conftest import ROOT, golden, run_cli


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_table_googlenet_golden():
    result = run_cli("table", "specs/googlenet.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    golden("googlenet_table.txt", result.stdout)


@pytest.mark.parametrize("fmt", ["md", "csv", "latex"])
def test_table_googlenet_formats_golden(fmt):
    result = invoke("table", "googlenet", "--format", fmt)
    assert result.exit_code == 0
    golden(f"googlenet_table.{fmt}", result.output)


def test_table_json_contract():
    result = invoke("table", "googlenet", "--format", "json", "--batch", "8", "--dtype", "bfloat16")
    data = json.loads(result.output)
    assert data["network"] == "googlenet" and data["input"] == [3, 224, 224] and data["batch"] == 8
    assert len(data["layers"]) == 19
    for layer in data["layers"]:
        for key, kind in (("name", str), ("type", str), ("output", list), ("params", int),
                          ("macs", int), ("activations", int)):
            assert isinstance(layer[key], kind)
        assert layer["activation_bytes"] == layer["activations"] * 8 * 2
    total = data["total"]
    assert total["params"] == sum(x["params"] for x in data["layers"]) == 6_998_552
    assert total["macs"] == sum(x["macs"] for x in data["layers"]) == 1_582_671_872
    assert total["activations"] == sum(x["activations"] for x in data["layers"])
    assert total["flops"] == 2 * total["macs"]
    assert data["layers"][0]["output"] == [64, 112, 112]


def test_table_train_and_expand():
    data = json.loads(invoke("table", "googlenet", "--train", "--format", "json").output)
    assert [x["name"] for x in data["layers"] if x["train_only"]] == ["aux 1", "aux 2"]
    nodes = json.loads(invoke("table", "googlenet", "--expand", "--format", "json").output)
    assert len(nodes["layers"]) > 100
    assert nodes["total"] == json.loads(invoke("table", "googlenet", "--format", "json").output)["total"]


def test_table_symbolic_matches_numbers():
    data = json.loads(invoke("table", "googlenet", "--symbolic", "--format", "json").output)
    first = data["layers"][0]
    import sympy

    # params of a k x k conv with groups: C_out*k^2*floor(C_in/g) + C_out (the test's own
    # expression, compared symbolically; printing order is sympy's business)
    c_in, c_out, k, g = sympy.symbols("C_in C_out k g", positive=True, integer=True)
    got = sympy.sympify(first["params_formula"], locals={"C_in": c_in, "C_out": c_out, "k": k,
                                                         "g": g})  # fmt: skip
    assert sympy.simplify(got - (c_out * k**2 * sympy.floor(c_in / g) + c_out)) == 0
    # conv 7x7/2, 3 -> 64 on 224 with p 3: 7*7*3*64 + 64 = 9,472 params;
    # out (224 + 6 - 7) // 2 + 1 = 112: MACs 7*7*3*64 * 112*112 = 118,013,952
    assert first["params"] == 7 * 7 * 3 * 64 + 64 == 9472
    assert first["macs"] == 7 * 7 * 3 * 64 * 112 * 112 == 118_013_952
    text = invoke("table", "googlenet", "--symbolic").output
    assert "C_out" in text


def test_output_file_is_written_atomically(tmp_path):
    out = tmp_path / "g.csv"
    result = invoke("table", "googlenet", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0 and result.output == ""
    assert out.read_text().startswith("layer,patch/stride,output")


def test_check_exits_zero_and_reports_errata():
    result = run_cli("check", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True
    table1 = next(t for t in data["tables"] if t["id"] == "googlenet-table1")
    statuses = [c["status"] for c in table1["cells"]]
    assert statuses.count("erratum") == 12 and statuses.count("mismatch") == 0
    ops = [c for c in table1["cells"] if c["column"] == "ops"]
    assert len(ops) == 12 and sum(c["status"] == "match" for c in ops) == 9  # 3 ops errata
    for cell in table1["cells"]:
        assert set(cell) >= {"row", "column", "published", "computed", "status"}
        if cell["status"] == "erratum":
            assert len(cell["reason"]) > 40


def _broken_table(tmp_path, text):
    src = open(os.path.join(ROOT, "specs", "tables", "googlenet-table1.yaml")).read()
    path = tmp_path / "t.yaml"
    path.write_text(text(src))
    return str(path)


def test_check_fails_when_a_cell_stops_reproducing(tmp_path):
    # a published ops cell that no longer matches the engine: exit 1
    path = _broken_table(tmp_path, lambda s: s.replace("ops: 304M", "ops: 305M"))
    result = run_cli("check", path)
    assert result.returncode == 1
    assert "mismatch" in result.stdout and "FAILED" in result.stdout


def test_check_fails_on_a_stale_erratum(tmp_path):
    # the printed value is corrected to what the engine computes: the erratum is now stale
    path = _broken_table(tmp_path, lambda s: s.replace("params: 380K", "params: 379K").replace(
        "printed: 380K", "printed: 379K"))
    result = run_cli("check", path, "--format", "json")
    assert result.returncode == 1
    cells = json.loads(result.stdout)["tables"][0]["cells"]
    stale = [c for c in cells if c.get("note", "").startswith("stale")]
    assert len(stale) == 1 and stale[0]["row"] == "inception (3b)"


def test_list():
    data = json.loads(invoke("list", "--format", "json").output)
    names = {n["name"] for n in data["networks"]}
    assert "googlenet" in names
    g = next(n for n in data["networks"] if n["name"] == "googlenet")
    assert g["params"] == 6_998_552 and g["year"] == 2014


def test_help_explains_itself():
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("table", "check", "list", "MACs", "FLOPs = 2 x MACs"):
        assert word in result.stdout
    assert run_cli("table", "--help").returncode == 0


def test_unknown_network_did_you_mean():
    result = run_cli("table", "googlenett")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: unknown network 'googlenett'; did you mean 'googlenet'?\n"


def test_unknown_command_and_bad_format_are_one_line():
    for args in (("tabel", "googlenet"), ("table", "googlenet", "--format", "xml")):
        result = run_cli(*args)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")


def test_internal_error_exit_3(monkeypatch, capsys):
    import archcost.commands.table as table_cmd
    from archcost.cli import main

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(table_cmd, "build", boom)
    with pytest.raises(SystemExit) as exc:
        main(["table", "googlenet"])
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert err.startswith("internal error: RuntimeError: kaboom") and "--debug" in err
    with pytest.raises(RuntimeError):
        main(["--debug", "table", "googlenet"])


def test_python_dash_m_and_version():
    assert run_cli("--version").stdout.startswith("archcost, version")


def test_fold_bn_on_table_and_compare():
    # ResNet-18 has 4,800 BN channels: folding drops 2*C BN params and adds C conv biases each
    data = json.loads(invoke("table", "resnet18", "--fold-bn", "--format", "json").output)
    assert data["total"]["params"] == 11_689_512 - 4_800
    assert data["total"]["buffers"] == 0 and data["total"]["macs"] == 1_814_073_344
    assert not any(layer["type"] == "bn" for layer in
                   json.loads(invoke("table", "resnet18", "--fold-bn", "--expand", "--format",
                                     "json").output)["layers"])  # fmt: skip
    cmp = json.loads(invoke("compare", "resnet18", "googlenet", "--fold-bn", "--format",
                            "json").output)["networks"]  # fmt: skip
    assert [n["params"] for n in cmp] == [11_684_712, 6_998_552]  # googlenet has no BN
