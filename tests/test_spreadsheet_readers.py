"""The spreadsheet readers: calamine reads what the streaming readers (openpyxl, xlrd) read,
is never handed a workbook whose value cells lie past the bounds (it would size the sheet by
them and abort the process), and reads .ods with its merged ranges."""

from __future__ import annotations

import datetime
import io
import subprocess
import sys
import zipfile
from collections.abc import Callable

import openpyxl
import pytest

from parsers import grid
from parsers.documents import read_document
from parsers.facts import DATA_TABLE, Unreadable
from parsers.office import check_zip
from parsers.sniff import sniff
from parsers.table import read_data_table
from tests.support import docgen_tables as gen

WORKBOOKS: list[Callable[[], tuple[bytes, gen.Expected]]] = [
    gen.make_xlsx_workbook,
    gen.make_xlsx_english_locale,
    gen.make_xlsx_plain_reordered,
    gen.make_xlsx_wrong_total,
    gen.make_xlsx_huge_dimension,
    gen.make_xlsx_nominations_column,
    gen.make_xls_merged,
]


def _plain(grids: list[grid.Grid]) -> list[tuple[str, tuple[tuple[object, ...], ...]]]:
    """Grids with ints as floats (openpyxl gives 45 where calamine gives 45.0)."""
    return [
        (
            g.source,
            tuple(tuple(float(v) if isinstance(v, int) else v for v in row) for row in g.cells),
        )
        for g in grids
    ]


@pytest.mark.parametrize("make", WORKBOOKS, ids=lambda f: f.__name__)
def test_calamine_reads_what_the_streaming_readers_read(make) -> None:  # type: ignore[no-untyped-def]
    data, expected = make()
    if expected.fmt == "xls":
        assert grid._xls_bounded(data, 2000, 40)
        streamed = grid._xls_xlrd(data, 2000, 40)
    else:
        assert grid._xlsx_bounded(check_zip(data), 2000, 40)
        streamed = grid._xlsx_streamed(data, check_zip(data), 2000, 40)
    assert _plain(grid._calamine(data, expected.fmt, 2000, 40)) == _plain(streamed)


def _far_value_xlsx() -> bytes:
    """The huge-dimension workbook with a *value* at XFD1048576: calamine would allocate
    17 billion cells."""
    data, _ = gen.make_xlsx_huge_dimension()
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b'<c r="XFD1048576" s="0"/>', b'<c r="XFD1048576"><v>1</v></c>')
            dst.writestr(info, body)
    return out.getvalue()


def _far_value_xls() -> bytes:
    import xlwt

    data, _ = gen.make_xls_merged()
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("So lieu")
    ws.write(0, 0, "STT")
    ws.write(65535, 255, 1)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# The child's own peak RSS is VmHWM, not ru_maxrss: Linux carries the parent's peak into
# ru_maxrss across fork/vfork + exec, so it read pytest's peak (602-941 MiB after the OCR tests
# ran in-process), whatever the reader took.
_CHILD = """
import re, sys
sys.path.insert(0, {root!r})
from parsers.grid import grids
data = open({path!r}, "rb").read()
sheets = grids(data, {fmt!r})
hwm = re.search(r"^VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read(), re.M)
print(len(sheets), int(hwm[1]) // 1024)
"""


@pytest.mark.parametrize(
    "make, fmt", [(_far_value_xlsx, "xlsx"), (_far_value_xls, "xls")], ids=["xlsx", "xls"]
)
def test_a_far_value_cell_is_read_by_the_streaming_reader(make, fmt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """In a child process: were calamine handed it, the process would abort."""
    data = make()
    assert not (
        grid._xls_bounded(data, 2000, 40)
        if fmt == "xls"
        else grid._xlsx_bounded(check_zip(data), 2000, 40)
    )
    path = tmp_path / f"far.{fmt}"
    path.write_bytes(data)
    root = str(__import__("pathlib").Path(__file__).resolve().parent.parent)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD.format(root=root, path=str(path), fmt=fmt)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    sheets, peak_mib = map(int, child.stdout.split())
    assert sheets >= 1
    assert peak_mib < 400


def test_cell_without_reference_goes_to_the_streaming_reader() -> None:
    data, _ = gen.make_xlsx_workbook()
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                body = body.replace(b'<c r="A1" ', b"<c ", 1)
            dst.writestr(info, body)
    assert not grid._xlsx_bounded(check_zip(out.getvalue()), 2000, 40)


def test_values_dates_errors_and_formulas() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(
        [
            datetime.date(2021, 10, 1),
            datetime.datetime(2021, 10, 1, 8, 30),  # noqa: DTZ001 (a cell)
            "=1/0",
            "=2+3",
            "1.200",
            True,
            45,
            1.5,
        ]
    )
    buf = io.BytesIO()
    wb.save(buf)
    # cached results as Excel saves them (openpyxl writes none)
    src, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = (
                    body.replace(b'<c r="C1"', b'<c r="C1" t="e"')
                    .replace(b"<f>1/0</f><v></v>", b"<f>1/0</f><v>#DIV/0!</v>")
                    .replace(b"<f>2+3</f><v></v>", b"<f>2+3</f><v>5</v>")
                )
            dst.writestr(info, body)
    (sheet,) = grid.grids(out.getvalue(), "xlsx")
    assert sheet.cells[0] == (
        "2021-10-01",
        "2021-10-01T08:30:00",
        None,
        5.0,
        "1.200",
        "TRUE",
        45.0,
        1.5,
    )


# --- ods ----------------------------------------------------------------------------------

_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"'
)
_COVERED = "<table:covered-table-cell/>"


def _cell(value: object, cols: int = 1, rows: int = 1) -> str:
    span = (f' table:number-columns-spanned="{cols}"' if cols > 1 else "") + (
        f' table:number-rows-spanned="{rows}"' if rows > 1 else ""
    )
    if value is None:
        return f"<table:table-cell{span}/>"
    kind = (
        f'office:value-type="float" office:value="{value}"'
        if isinstance(value, int)
        else 'office:value-type="string"'
    )
    return f"<table:table-cell{span} {kind}><text:p>{value}</text:p></table:table-cell>"


def _row(*cells: str, repeat: int = 1) -> str:
    attr = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{attr}>{''.join(cells)}</table:table-row>"


def _ods(rows: str) -> bytes:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_NS}>'
        f'<office:body><office:spreadsheet><table:table table:name="Số liệu">{rows}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:'
            'manifest:1.0" manifest:version="1.2"/>',
        )
        z.writestr("content.xml", content)
    return out.getvalue()


def _ods_table(tail: str) -> bytes:
    """LibreOffice's way: merged title and two-row header, covered cells, trailing rows."""
    return _ods(
        _row(
            _cell("TỔNG HỢP SỐ LIỆU KẾT QUẢ TỔ CHỨC TUẦN LỄ HỌC TẬP SUỐT ĐỜI NĂM 2021", cols=6),
            '<table:covered-table-cell table:number-columns-repeated="5"/>',
        )
        + _row(
            _cell("STT", rows=2),
            _cell("Các hoạt động", rows=2),
            _cell("Đơn vị tổ chức", rows=2),
            _cell("Số lượng", cols=2),
            _COVERED,
            _cell("Ghi chú", rows=2),
        )
        + _row(
            '<table:covered-table-cell table:number-columns-repeated="3"/>',
            _cell("Số lớp/số cuộc thi"),
            _cell("Người"),
            _COVERED,
        )
        + _row(
            _cell(1),
            _cell("Lễ khai mạc Tuần lễ học tập suốt đời"),
            _cell("Trường THCS Bích Hòa"),
            _cell(1),
            _cell("1.200"),
            _cell(None),
        )
        + _row(
            _cell(2),
            _cell("Hội thi Đọc sách cùng em"),
            _cell("Liên đội"),
            _cell(3),
            _cell(650),
            _cell(None),
        )
        + _row(_cell("Tổng cộng", cols=3), _COVERED, _COVERED, _cell(4), _cell(1850), _cell(None))
        + tail
    )


def test_ods_is_sniffed_and_read_with_merged_header() -> None:
    data = _ods_table(
        _row('<table:table-cell table:number-columns-repeated="1024"/>', repeat=1048570)
    )
    assert sniff(data, "so lieu.ods") == ("spreadsheet", "ods")
    (sheet,) = grid.grids(data, "ods")
    assert sheet.cells[1][3:5] == ("Số lượng", "Số lượng")
    assert sheet.cells[2][:3] == ("STT", "Các hoạt động", "Đơn vị tổ chức")
    table = read_data_table(data, "ods")
    assert table is not None
    assert [(r.activity, r.classes_or_contests, r.participants) for r in table.rows] == [
        ("Lễ khai mạc Tuần lễ học tập suốt đời", 1, 1200),
        ("Hội thi Đọc sách cùng em", 3, 650),
    ]
    facts = read_document(data, "Tổng hợp số liệu.ods")
    assert DATA_TABLE in facts.items and not facts.problem


def test_ods_repeated_values_past_the_bounds_are_refused() -> None:
    wide = _ods_table(
        _row(
            '<table:table-cell table:number-columns-repeated="16000" '
            'office:value-type="float" office:value="1"><text:p>1</text:p>'
            "</table:table-cell>"
        )
    )
    tall = _ods_table(_row(_cell("x"), repeat=1_000_000))
    for data in (wide, tall):
        with pytest.raises(Unreadable, match="too large"):
            grid.grids(data, "ods")
