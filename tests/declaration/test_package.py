import re
import stat
import warnings
import zipfile
from pathlib import Path

import pytest

from app.declaration.package import (
    Limits,
    PackageError,
    Problem,
    open_package,
    reopen_package,
    write_package,
)

from .helpers import MANIFEST_FIELDS, manifest_xml, mdt_row, simple_package, table_xml, write_zip


def refused(path: Path, code: str, limits: Limits | None = None) -> list[Problem]:
    with pytest.raises(PackageError) as info:
        open_package(path, limits or Limits())
    err = info.value
    assert err.code == code, err.detail
    assert err.problem_count == len(err.problems) >= 1
    assert err.detail.startswith("数据包") and f"共 {err.problem_count} 处问题" in err.detail
    return err.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_package_opens(tmp_path: Path) -> None:
    pkg = open_package(simple_package(tmp_path / "p.zip"))
    assert pkg.business.code == "A0305001" and pkg.record_count == 2
    assert pkg.manifest.nsrsbh == MANIFEST_FIELDS["nsrsbh"] and pkg.manifest.sbpc == "001"
    assert pkg.tables() == ["mdt_ckmx"] and len(pkg.sha256) == 64 and pkg.size > 0
    rows = list(pkg.rows("mdt_ckmx"))
    assert rows[0]["ckbgdh"] == "110820260000000001001" and rows[0]["bz"] == ""
    assert list(pkg.rows("mdt_hz")) == []


def test_reopen_reads_a_checked_package_as_open_did(tmp_path: Path) -> None:
    path = simple_package(tmp_path / "p.zip", rows=[mdt_row(1), mdt_row(2, sbhgspmc=" 服务器 ")])
    checked = open_package(path)
    again = reopen_package(path, checked.sha256)
    assert (again.manifest, again.business, again.sha256, again.size) == (
        checked.manifest, checked.business, checked.sha256, checked.size,
    )  # fmt: skip
    rows = list(again.rows("mdt_ckmx"))
    assert rows == list(checked.rows("mdt_ckmx")) and rows[1]["sbhgspmc"] == "服务器"


def test_reopen_checks_changed_bytes_in_full(tmp_path: Path) -> None:
    path = simple_package(tmp_path / "p.zip")
    sha = open_package(path).sha256
    # the stored file replaced by another one that would not pass the check
    path.write_bytes(simple_package(tmp_path / "bad.zip", declared_rows=3).read_bytes())
    with pytest.raises(PackageError) as info:
        reopen_package(path, sha)
    assert info.value.code == "PACKAGE_INVALID"


# ------------------------------------------------------------------ unsafe


def _entry(name: str) -> list[tuple[str | zipfile.ZipInfo, bytes]]:
    return [(name, b"<x/>")]


@pytest.mark.parametrize(
    "name", ["../evil.xml", "/etc/evil.xml", "C:evil.xml", "c:/evil.xml", "a\\b.xml", "a/../../b"]
)
def test_unsafe_names(tmp_path: Path, name: str) -> None:
    problems = refused(simple_package(tmp_path / "p.zip", extra=_entry(name)), "PACKAGE_UNSAFE")
    assert all(p.entry == name for p in problems)


def test_symlink_entry(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("link.xml")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    p = only(
        refused(
            simple_package(tmp_path / "p.zip", extra=[(info, b"/etc/passwd")]), "PACKAGE_UNSAFE"
        )
    )
    assert p.entry == "link.xml" and "链接" in p.message


def test_duplicate_names(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns on duplicates
        path = simple_package(tmp_path / "p.zip", extra=[("manifest.xml", b"<x/>")])
    p = only(refused(path, "PACKAGE_UNSAFE"))
    assert p.entry == "manifest.xml" and "重复" in p.message


def test_too_many_entries(tmp_path: Path) -> None:
    extra = [(f"f{i}.xml", b"<x/>") for i in range(5)]
    p = only(
        refused(
            simple_package(tmp_path / "p.zip", extra=extra), "PACKAGE_UNSAFE", Limits(max_entries=6)
        )
    )
    assert "条目数7" in p.message


def test_deflate_bomb_total(tmp_path: Path) -> None:
    extra = [("bomb.xml", b"\0" * 3_000_000)]
    problems = refused(
        simple_package(tmp_path / "p.zip", extra=extra),
        "PACKAGE_UNSAFE",
        Limits(max_total_uncompressed=2_000_000),
    )
    assert any("总大小" in p.message for p in problems)
    assert any(p.entry == "bomb.xml" and "压缩比" in p.message for p in problems)


def test_high_ratio_entry_default_limits(tmp_path: Path) -> None:
    extra = [("bomb.xml", b" " * (2 * 1024 * 1024))]
    p = only(refused(simple_package(tmp_path / "p.zip", extra=extra), "PACKAGE_UNSAFE"))
    assert p.entry == "bomb.xml" and "压缩比" in p.message


XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE table [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<table name="mdt_ckmx"><row><sbxh>0001</sbxh><bz>&xxe;</bz></row></table>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<table name="mdt_ckmx"><row><sbxh>&lol3;</sbxh></row></table>"""
DTD = b"""<?xml version="1.0"?><!-- a comment --><!DOCTYPE table SYSTEM "http://example.com/t.dtd">
<table name="mdt_ckmx"></table>"""


@pytest.mark.parametrize("data", [XXE, LAUGHS, DTD], ids=["xxe", "billion-laughs", "dtd"])
def test_dtd_and_entities_are_refused_in_tables(tmp_path: Path, data: bytes) -> None:
    p = only(
        refused(simple_package(tmp_path / "p.zip", data=data, declared_rows=1), "PACKAGE_UNSAFE")
    )
    assert p.entry == "mdt_ckmx.xml" and "DTD" in p.message


def test_dtd_in_manifest_is_refused(tmp_path: Path) -> None:
    body = table_xml("mdt_ckmx", [mdt_row(1)])
    manifest = manifest_xml([("mdt_ckmx", "mdt_ckmx.xml", 1, body)]).replace(
        b"?>\n", b'?>\n<!DOCTYPE sbsjb [<!ENTITY a "x">]>', 1
    )
    path = write_zip(tmp_path / "p.zip", [("manifest.xml", manifest), ("mdt_ckmx.xml", body)])
    assert only(refused(path, "PACKAGE_UNSAFE")).entry == "manifest.xml"


# ------------------------------------------------------------------ invalid


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    path.write_bytes(b"hello")
    assert "ZIP" in only(refused(path, "PACKAGE_INVALID")).message


def test_wrong_digest_and_row_count(tmp_path: Path) -> None:
    body = table_xml("mdt_ckmx", [mdt_row(1), mdt_row(2)])
    manifest = manifest_xml([("mdt_ckmx", "mdt_ckmx.xml", 3, body + b" ")])
    path = write_zip(tmp_path / "p.zip", [("manifest.xml", manifest), ("mdt_ckmx.xml", body)])
    problems = refused(path, "PACKAGE_INVALID")
    assert {p.entry for p in problems} == {"mdt_ckmx.xml"}
    assert any("sha256" in p.message for p in problems)
    assert any("行数" in p.message for p in problems)
    assert len(problems) == 2


def test_misnamed_root_and_wrong_root(tmp_path: Path) -> None:
    data = table_xml("mdt_hz", [mdt_row(1)])
    p = only(
        refused(simple_package(tmp_path / "a.zip", data=data, declared_rows=1), "PACKAGE_INVALID")
    )
    assert p.entry == "mdt_ckmx.xml" and "mdt_hz" in p.message
    data = b"<rows><row><sbxh>0001</sbxh></row></rows>"
    problems = refused(
        simple_package(tmp_path / "b.zip", data=data, declared_rows=1), "PACKAGE_INVALID"
    )
    assert any("根元素" in p.message for p in problems)


def test_missing_manifest_and_unlisted_entry(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "p.zip", [("mdt_ckmx.xml", table_xml("mdt_ckmx", [mdt_row(1)]))])
    assert "manifest" in only(refused(path, "PACKAGE_INVALID")).message
    path = simple_package(tmp_path / "q.zip", extra=[("readme.txt", b"hi")])
    p = only(refused(path, "PACKAGE_INVALID"))
    assert p.entry == "readme.txt"


def test_directory_entry(tmp_path: Path) -> None:
    path = simple_package(tmp_path / "p.zip", extra=[("sub/", b""), ("sub/x.xml", b"<x/>")])
    problems = refused(path, "PACKAGE_INVALID")
    assert {p.entry for p in problems} == {"sub/", "sub/x.xml"}


def test_wrong_version_and_unknown_business(tmp_path: Path) -> None:
    assert (
        "版本"
        in only(
            refused(simple_package(tmp_path / "a.zip", version="1.0"), "PACKAGE_INVALID")
        ).message
    )
    p = only(refused(simple_package(tmp_path / "b.zip", sbywbm="A9999999"), "PACKAGE_INVALID"))
    assert p.column == "sbywbm" and "A9999999" in p.message


def test_manifest_fields(tmp_path: Path) -> None:
    problems = refused(
        simple_package(tmp_path / "a.zip", ssq="202613", sbpc="01", nsrsbh=""), "PACKAGE_INVALID"
    )
    assert {p.column for p in problems} == {"ssq", "sbpc", "nsrsbh"}


def test_table_foreign_to_business_and_missing_table(tmp_path: Path) -> None:
    path = simple_package(tmp_path / "a.zip", sbywbm="A0301001")
    problems = refused(path, "PACKAGE_INVALID")
    msgs = " ".join(p.message for p in problems)
    assert "不属于业务A0301001" in msgs and "mts_ckmx" in msgs and "mts_jhmx" in msgs


def test_missing_required_column_and_unknown_column(tmp_path: Path) -> None:
    rows = [mdt_row(1), mdt_row(2)]
    for r in rows:
        del r["ckrq"]
    rows[1]["foo"] = "x"
    del rows[1]["cksl"]
    problems = refused(simple_package(tmp_path / "a.zip", rows=rows), "PACKAGE_INVALID")
    by_col = {p.column: p for p in problems}
    assert by_col["ckrq"].row is None and by_col["ckrq"].message == "缺少必填列"
    assert by_col["foo"].row == "0002" and "未知" in by_col["foo"].message
    assert by_col["cksl"].row == "0002" and "共1行" in by_col["cksl"].message
    assert len(problems) == 3


MALFORMED = [
    ("sbhgspmc", "", "必填项为空"),
    ("ckbgdh", "1108202600000123450011", "长度"),
    ("sbhgspmc", "名" * 501, "长度"),
    ("bz", "a\u0001b".replace("\u0001", "&#10;x"), "控制字符"),
    ("mylaj", "1,000.00", "数字"),
    ("mylaj", "1e3", "数字"),
    ("mylaj", "12.345", "小数位数"),
    ("cksl", "1.123456", "小数位数"),
    ("tsl", "0.1234567", "小数位数"),
    ("tsl", "-0.13", "非负"),
    ("ckrq", "20260231", "日期"),
    ("ckrq", "2026-10-05", "日期"),
    ("sbxh", "123456789", "1至8位"),
    ("sbxh", "12a", "1至8位"),
]


def test_every_malformed_value_is_reported_with_where(tmp_path: Path) -> None:
    rows = [mdt_row(i + 10, **{col: value}) for i, (col, value, _) in enumerate(MALFORMED)]
    problems = refused(simple_package(tmp_path / "a.zip", rows=rows), "PACKAGE_INVALID")
    assert len(problems) == len(MALFORMED)
    for row, (col, _, text), p in zip(rows, MALFORMED, problems, strict=True):
        assert p.entry == "mdt_ckmx.xml" and p.column == col and text in p.message
        assert p.row == row["sbxh"]


def test_negative_amount_is_not_malformed_and_sbxh_repeat_across_tables(tmp_path: Path) -> None:
    rows = [mdt_row(1, cksl="-10", mylaj="-1000.00", rmblaj="-7100.00"), mdt_row(2)]
    body = table_xml("mdt_ckmx", rows)
    hz = table_xml("mdt_hz", [{"sbxh": "2", "qmldse": "100.00"}])
    manifest = manifest_xml(
        [("mdt_ckmx", "mdt_ckmx.xml", 2, body), ("mdt_hz", "mdt_hz.xml", 1, hz)]
    )
    path = write_zip(
        tmp_path / "p.zip", [("manifest.xml", manifest), ("mdt_ckmx.xml", body), ("mdt_hz.xml", hz)]
    )
    p = only(refused(path, "PACKAGE_INVALID"))
    assert (p.entry, p.row, p.column) == ("mdt_hz.xml", "2", "sbxh") and "重复" in p.message


def test_all_problems_collected_and_capped(tmp_path: Path) -> None:
    rows = [mdt_row(i, ckrq="x", cksl="y") for i in range(1, 801)]
    with pytest.raises(PackageError) as info:
        open_package(simple_package(tmp_path / "a.zip", rows=rows))
    assert info.value.problem_count == 1600 and len(info.value.problems) == 1000
    assert info.value.problems[0].to_dict() == {
        "entry": "mdt_ckmx.xml",
        "row": "0001",
        "column": "ckrq",
        "message": "[x]不是有效的日期（YYYYMMDD）",
    }


def test_xml_syntax_error(tmp_path: Path) -> None:
    data = b'<?xml version="1.0"?><table name="mdt_ckmx"><row><sbxh>1</sbxh></row>'
    p = only(
        refused(simple_package(tmp_path / "a.zip", data=data, declared_rows=1), "PACKAGE_INVALID")
    )
    assert p.entry == "mdt_ckmx.xml" and "XML格式不正确" in p.message


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        (b"<row><sbxh>1</sbxh></row>", "元素<table>没有结束"),
        (b"<row><sbxh>1</sbxh></rw></table>", "开始标签<row>与结束标签</rw>不匹配"),
        (b"<row><sbhgspmc>A & B</sbhgspmc></row></table>", "应写作“&amp;”"),
        (b"<row><sbhgspmc>\x01</sbhgspmc></row></table>", "不允许的字符（编码1）"),
        (b"<row/></table><row/>", "根元素结束后还有多余的内容"),
    ],
)
def test_xml_syntax_errors_are_told_in_chinese(tmp_path: Path, rows: bytes, says: str) -> None:
    data = b'<?xml version="1.0"?>\n<table name="mdt_ckmx">\n' + rows
    path = simple_package(tmp_path / "a.zip", data=data, declared_rows=1)
    p = only(refused(path, "PACKAGE_INVALID"))
    assert p.message.startswith("XML格式不正确（第") and says in p.message
    words = re.sub(r"</?\w+>|&amp;|XML|CDATA", "", p.message)  # tag names are the file's own
    assert not re.search(r"[A-Za-z]{3,}", words), p.message


# ------------------------------------------------------------------ encodings


@pytest.mark.parametrize("enc", ["GB18030", "GBK", "GB2312"])
def test_gb_encodings_declared_are_read(tmp_path: Path, enc: str) -> None:
    rows = [mdt_row(1, sbhgspmc="数控机床零件", hgjldwmc="千克")]
    pkg = open_package(
        simple_package(tmp_path / "a.zip", data=table_xml("mdt_ckmx", rows, enc), declared_rows=1)
    )
    got = next(pkg.rows("mdt_ckmx"))
    assert got["sbhgspmc"] == "数控机床零件" and got["hgjldwmc"] == "千克"


def test_undeclared_gbk_is_invalid_with_clear_message(tmp_path: Path) -> None:
    data = table_xml("mdt_ckmx", [mdt_row(1)], "GBK", decl=False)
    p = only(
        refused(simple_package(tmp_path / "a.zip", data=data, declared_rows=1), "PACKAGE_INVALID")
    )
    assert p.entry == "mdt_ckmx.xml" and "encoding" in p.message and "UTF-8" in p.message


def test_unsupported_encoding(tmp_path: Path) -> None:
    data = table_xml("mdt_ckmx", [mdt_row(1)]).replace(b"UTF-8", b"ISO-8859-1")
    p = only(
        refused(simple_package(tmp_path / "a.zip", data=data, declared_rows=1), "PACKAGE_INVALID")
    )
    assert "不支持的编码" in p.message


# ------------------------------------------------------------------ writer


@pytest.mark.parametrize("enc", ["UTF-8", "GB18030"])
def test_write_read_round_trip(tmp_path: Path, enc: str) -> None:
    ckmx = [mdt_row(i, sbhgspmc=f"商品<{i}>&“引号”", bz="  x ") for i in range(1, 51)]
    hz = [{"sbxh": "0051", "qmldse": "41600.00"}]
    path = write_package(
        tmp_path / "out" / "x.zip", MANIFEST_FIELDS, {"mdt_ckmx": iter(ckmx), "mdt_hz": hz}, enc
    )
    pkg = open_package(path)
    assert pkg.record_count == 50 and pkg.tables() == ["mdt_ckmx", "mdt_hz"]
    assert [t.rows for t in pkg.manifest.tables] == [50, 1]
    back = list(pkg.rows("mdt_ckmx"))
    assert back[3]["sbhgspmc"] == "商品<4>&“引号”" and back[3]["bz"] == "x"
    assert {k: v.strip() for k, v in ckmx[7].items()} == back[7]
    assert list(pkg.rows("mdt_hz")) == hz
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.zip"]  # no temp left
    with zipfile.ZipFile(path) as zf:
        assert zf.read("manifest.xml").startswith(
            f'<?xml version="1.0" encoding="{enc}"?>'.encode()
        )


def test_encrypted_entry_and_corrupt_data(tmp_path: Path) -> None:
    body = table_xml("mdt_ckmx", [mdt_row(1)])
    manifest = manifest_xml([("mdt_ckmx", "mdt_ckmx.xml", 1, body)])
    path = write_zip(tmp_path / "a.zip", [("manifest.xml", manifest), ("mdt_ckmx.xml", body)])
    raw = bytearray(path.read_bytes())  # zipfile cannot write the flag: set it in the headers
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.rfind(sig)
        raw[at + flag_at] |= 0x1
    path.write_bytes(bytes(raw))
    p = only(refused(path, "PACKAGE_INVALID"))
    assert p.entry == "mdt_ckmx.xml" and "加密" in p.message
    # flip bytes inside the deflated table: CRC or inflate error, reported on the entry
    path = write_zip(tmp_path / "b.zip", [("manifest.xml", manifest), ("mdt_ckmx.xml", body * 50)])
    data = bytearray(path.read_bytes())
    start = data.find(b"mdt_ckmx.xml", 100) + len("mdt_ckmx.xml")
    for k in range(start + 40, start + 60):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    problems = refused(path, "PACKAGE_INVALID")
    assert all(p.entry == "mdt_ckmx.xml" for p in problems)
