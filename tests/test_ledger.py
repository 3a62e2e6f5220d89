"""The hash-chained ledger (every mutation found and located) and GOP hashes (remux-proof)."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from borderwatch.cli import main
from borderwatch.ledger import (
    ZERO_HASH,
    GopHasher,
    LedgerWriter,
    file_sha256,
    gop_hashes,
    read_ledger,
    record_hash,
    source_data,
    summary_digest,
    verify_chain,
)
from borderwatch.ledger.verify import compare_sources, verify_sources

# --------------------------------------------------------------------------- chain


def _ledger_records() -> list[tuple[str, dict[str, Any]]]:
    recs: list[tuple[str, dict[str, Any]]] = [
        ("scan", {"software": "borderwatch 0.1.0", "settings": {"bucket_s": 10.0, "lines": ["0,0.5 1,0.5"]}}),
        ("source", {"index": 0, "path": "/data/cam 1/clip.mp4", "size": 123456, "sha256": "ab" * 32}),
    ]
    for i in range(8):
        recs.append(
            ("gop", {"source": 0, "index": i, "start_s": i * 2.0, "end_s": i * 2.0 + 2.0, "sha256": f"{i:064x}"})
        )
        if i % 2:
            recs.append(("crossing", {"id": i, "time_s": 0.1 + 0.2 * i, "direction": "A->B", "label": "persön"}))
        if i % 3 == 0:
            recs.append(("bucket", {"start_s": i * 10.0, "end_s": i * 10.0 + 10.0, "state": "observable", "x": 1e-300}))
    recs += [
        ("gap", {"start_s": 3.25, "end_s": 4.5, "reason": "corrupt packet"}),
        ("event", {"kind": "light_change", "time_s": 12.04}),
        ("bucket", {"start_s": 80.0, "end_s": 90.0, "impaired_s": {"frozen": 2.5}, "causes": ["frozen"]}),
    ]
    while len(recs) < 29:
        recs.append(("bucket", {"start_s": len(recs) * 1.0, "signals": {"mean_luma": 112.4 + len(recs) / 3}}))
    return recs


@pytest.fixture
def ledger_file(tmp_path: Path) -> tuple[Path, list[str], str]:
    path = tmp_path / "ledger.jsonl"
    with LedgerWriter(path) as led:
        for kind, data in _ledger_records():
            led.append(kind, data)
        head = led.finish("complete", summary_sha256="cd" * 32)
        assert led.count == 30
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 30
    return path, lines, head


def _write(path: Path, recs: list[Any]) -> None:
    out = []
    for r in recs:
        out.append(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False))
    path.write_text("".join(x + "\n" for x in out), encoding="utf-8")


def _mutations(lines: list[str]) -> Iterator[tuple[str, int, list[Any]]]:
    """(description, seq where the damage is, mutated records) for every single mutation."""
    recs = [json.loads(x) for x in lines]
    n = len(recs)

    def edited(k: int, fn: Callable[[dict[str, Any]], None]) -> list[Any]:
        out = copy.deepcopy(recs)
        fn(out[k])
        return out

    def flip(h: str) -> str:
        return ("1" if h[0] == "0" else "0") + h[1:]

    for k in range(n):
        kind = recs[k]["kind"]
        yield f"seq+1 of {k}", k, edited(k, lambda r: r.update(seq=r["seq"] + 1))
        yield f"seq+100 of {k}", k, edited(k, lambda r: r.update(seq=r["seq"] + 100))
        if k:
            yield f"seq-1 of {k}", k, edited(k, lambda r: r.update(seq=r["seq"] - 1))
        yield f"seq as string in {k}", k, edited(k, lambda r: r.update(seq=str(r["seq"])))
        yield f"prev of {k}", k, edited(k, lambda r: r.update(prev=flip(r["prev"])))
        yield f"kind of {k}", k, edited(k, lambda r: r.update(kind="x" + r["kind"]))
        if kind != "end":
            yield f"kind end in {k}", k, edited(k, lambda r: r.update(kind="end"))
        key = min(recs[k]["data"])
        yield f"data[{key}] of {k}", k, edited(k, lambda r, key=key: r["data"].update({key: [r["data"][key]]}))
        yield f"data added key in {k}", k, edited(k, lambda r: r["data"].update(extra=1))
        yield f"data removed key in {k}", k, edited(k, lambda r, key=key: r["data"].pop(key))
        floats = [f for f, v in recs[k]["data"].items() if isinstance(v, float)]
        if floats:
            f = floats[0]
            yield (
                f"data float ulp in {k}",
                k,
                edited(k, lambda r, f=f: r["data"].update({f: float(np.nextafter(r["data"][f], np.inf))})),
            )
        yield f"hash of {k}", k, edited(k, lambda r: r.update(hash=flip(r["hash"])))
        yield f"extra field in {k}", k, edited(k, lambda r: r.update(note="x"))
        yield f"garbage line {k}", k, [*recs[:k], "not json {", *recs[k + 1 :]]

        def forge(r: dict[str, Any]) -> None:  # edit and recompute the record's own hash
            r["data"]["forged"] = True
            r["hash"] = record_hash(r["seq"], r["prev"], r["kind"], r["data"])

        if k < n - 1:  # the forged last record is only caught by the head (tested below)
            yield f"forged replacement of {k}", k, edited(k, forge)
        yield f"delete {k}", k, [r for i, r in enumerate(recs) if i != k]
        if k + 1 < n:
            sw = list(recs)
            sw[k], sw[k + 1] = sw[k + 1], sw[k]
            yield f"swap {k},{k + 1}", k, sw
        yield f"truncate to {k}", k, recs[:k]
    for k in range(n + 1):
        # A forged record with a correct own hash, linked to its predecessor.
        prev = recs[k - 1]["hash"] if k else ZERO_HASH
        data = {"time_s": 1.5, "direction": "B->A", "label": "person"}
        fake = {
            "seq": k,
            "prev": prev,
            "kind": "crossing",
            "data": data,
            "hash": record_hash(k, prev, "crossing", data),
        }
        yield f"insert linked at {k}", k, [*recs[:k], fake, *recs[k:]]
        bad_prev = "7" * 64
        naive = dict(fake, prev=bad_prev, hash=record_hash(k, bad_prev, "crossing", data))
        yield f"insert unlinked at {k}", k, [*recs[:k], naive, *recs[k:]]


@pytest.mark.parametrize("with_head", [False, True], ids=["chain-only", "with-head"])
def test_every_mutation_is_found_and_located(ledger_file: tuple[Path, list[str], str], with_head: bool) -> None:
    path, lines, head = ledger_file
    ok = verify_chain(path, expected_head=head, expected_records=30)
    assert ok.ok, ok.problems
    assert ok.records == 30 and ok.head == head and ok.end is not None and ok.end["status"] == "complete"
    target = path.with_name("mutated.jsonl")
    count = 0
    failures = []
    for what, seq, recs in _mutations(lines):
        _write(target, recs)
        rep = verify_chain(
            target, expected_head=head if with_head else None, expected_records=30 if with_head else None
        )
        count += 1
        located = {p.seq for p in rep.problems if p.seq is not None}
        if rep.ok or located != {seq} or rep.problems[0].seq != seq:
            failures.append(
                f"{what}: expected seq {seq}, got " + "; ".join(f"{p.seq}: {p.message}" for p in rep.problems)
            )
    assert count > 500
    assert not failures, f"{len(failures)} of {count}:\n" + "\n".join(failures[:20])


def test_problem_messages_say_where(ledger_file: tuple[Path, list[str], str]) -> None:
    path, lines, head = ledger_file
    recs = [json.loads(x) for x in lines]
    k = next(i for i, r in enumerate(recs) if r["kind"] == "crossing")
    recs[k]["data"]["direction"] = "B->A"
    _write(path, recs)
    rep = verify_chain(path)
    [p] = rep.problems
    assert (p.code, p.line, p.seq, p.kind) == ("edited", k + 1, k, "crossing")
    assert f"record at line {k + 1} (seq {k}, kind crossing) was edited" in p.message

    recs = [json.loads(x) for x in lines]
    del recs[5]
    _write(path, recs)
    [p] = verify_chain(path).problems
    assert p.code == "deleted" and p.seq == 5 and "1 record (seq 5) deleted" in p.message

    _write(path, [json.loads(x) for x in lines][:-3])
    probs = verify_chain(path, expected_head=head).problems
    assert [p.code for p in probs] == ["no_end"] and probs[0].seq == 27
    assert "after line 27 (seq 26, kind bucket)" in probs[0].message and "were removed" in probs[0].message


def test_forged_end_record_is_caught_by_the_head(ledger_file: tuple[Path, list[str], str]) -> None:
    path, lines, head = ledger_file
    recs = [json.loads(x) for x in lines]
    end = recs[-1]
    end["data"]["status"] = "partial"
    end["hash"] = record_hash(end["seq"], end["prev"], end["kind"], end["data"])
    _write(path, recs)
    assert verify_chain(path).ok  # a consistent rewrite of the tail: only the head shows it
    [p] = verify_chain(path, expected_head=head).problems
    assert p.code == "head" and p.seq == 29


def test_cut_mid_record_and_blank_line(ledger_file: tuple[Path, list[str], str]) -> None:
    path, lines, head = ledger_file
    path.write_text("\n".join(lines)[:-40], encoding="utf-8")  # crash while writing the end
    [p] = verify_chain(path, expected_head=head).problems
    assert p.code == "unreadable" and p.seq == 29 and "cut off" in p.message
    path.write_text("\n".join(lines[:10] + [""] + lines[10:]) + "\n", encoding="utf-8")
    [p] = verify_chain(path).problems
    assert p.line == 11 and "blank line" in p.message


def test_writer_round_trips_values(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    data = {
        "floats": [0.1 + 0.2, 1e-300, 1.2345678901234567e300, -0.0, 5e-324, 2.0**53 + 2],
        "np": np.float32(0.1),
        "np_int": np.int64(7),
        "tuple": (1, 2),
        "int_keys": {10: "a", 9: "b"},
        "text": "Grenzübergang \u2192 \U0001f6b6",
    }
    with LedgerWriter(path) as led:
        h0 = led.append("bucket", data)
        assert led.head == h0 and led.count == 1
        led.finish("complete")
        with pytest.raises(ValueError, match="end record"):
            led.append("bucket", {})
    [rec, end] = read_ledger(path)
    assert rec["data"]["floats"] == data["floats"]
    assert rec["data"]["np"] == float(np.float32(0.1)) and rec["data"]["int_keys"] == {"10": "a", "9": "b"}
    assert end["data"] == {"records": 2, "status": "complete"}
    assert verify_chain(path).ok
    # The hash is of the canonical JSON, exactly as docs/coverage.md says.
    canon = json.dumps(
        {k: rec[k] for k in ("seq", "prev", "kind", "data")}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert hashlib.sha256(canon.encode("utf-8")).hexdigest() == rec["hash"] == h0
    assert rec["prev"] == "0" * 64 and end["prev"] == h0
    with LedgerWriter(tmp_path / "m.jsonl") as led, pytest.raises(ValueError, match="finite"):
        led.append("bucket", {"x": float("nan")})


def test_records_are_on_disk_as_they_happen(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    led = LedgerWriter(path)
    led.append("scan", {"a": 1})
    assert len(path.read_text().splitlines()) == 1  # flushed before close
    probs = verify_chain(path).problems
    assert [p.code for p in probs] == ["no_end"] and "did not finish" in probs[0].message
    led.close()


# --------------------------------------------------------------------------- GOPs


def _encode(path: Path, frames: list[np.ndarray], fps: int, codec: str = "libx264", gop: int = 25) -> Path:
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        if codec == "libx264":
            s.options = {"g": str(gop), "keyint_min": str(gop), "bf": "2", "threads": "1", "preset": "veryfast"}
        elif codec == "libx265":
            s.options = {"x265-params": f"keyint={gop}:min-keyint={gop}:log-level=error:pools=1:frame-threads=1"}
        else:
            s.options = {"g": str(gop)}
        for i, img in enumerate(frames):
            fr = av.VideoFrame.from_ndarray(img, format="bgr24")
            fr.pts = i
            fr.time_base = Fraction(1, fps)
            out.mux(s.encode(fr))
        out.mux(s.encode(None))
    return path


@pytest.fixture(scope="module")
def synth_frames() -> list[np.ndarray]:
    from borderwatch.synth import Renderer, preset

    spec = preset("walk", 1, duration_s=6, width=320, height=180)
    return [f.copy() for f in Renderer(spec).frames()]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, synth_frames: list[np.ndarray]) -> Path:
    """6 s of the synth 'walk' scene, 320x180 H.264 with B-frames, a GOP per second."""
    return _encode(tmp_path_factory.mktemp("gop") / "walk.mp4", synth_frames, 25)


def _remux(
    src: Path,
    dst: Path,
    skip: Callable[[int], bool] | None = None,
    edit: Callable[[int, bytes], bytes] | None = None,
) -> Path:
    """``-c copy`` with PyAV; ``skip(i)`` drops packet i, ``edit(i, data)`` replaces its bytes."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        i = -1
        for pk in inp.demux(s_in):
            if not pk.size:
                continue
            i += 1
            if skip is not None and skip(i):
                continue
            if edit is not None:
                new = av.Packet(edit(i, bytes(pk)))
                new.pts, new.dts, new.duration = pk.pts, pk.dts, pk.duration
                new.time_base = pk.time_base
                new.is_keyframe = pk.is_keyframe
                pk = new
            pk.stream = s_out
            out.mux(pk)
    return dst


def _packet_gops(path: Path) -> list[int]:
    """GOP number of each packet (decode order), by keyframe flag."""
    out, g = [], -1
    with av.open(str(path)) as c:
        for pk in c.demux(c.streams.video[0]):
            if pk.size:
                g += pk.is_keyframe
                out.append(g)
    return out


def test_gop_hashes_survive_remuxing(clip: Path, tmp_path: Path) -> None:
    gops = gop_hashes(clip)
    assert len(gops) == 6 and sum(g.frames for g in gops) == 150
    assert [g.index for g in gops] == list(range(6))
    assert gops[0].start_s == 0.0 and gops[1].start_s == pytest.approx(1.0) and gops[-1].end_s == pytest.approx(6.0)
    assert all(g.codec == "h264" and g.method == "vcl" for g in gops)
    assert len({g.sha256 for g in gops}) == 6
    ts = _remux(clip, tmp_path / "a.ts")
    mkv = _remux(ts, tmp_path / "b.mkv")
    mov = _remux(mkv, tmp_path / "c.mov")
    for other in (ts, mkv, mov):
        assert file_sha256(other) != file_sha256(clip)
        again = gop_hashes(other)
        assert [g.sha256 for g in again] == [g.sha256 for g in gops], other.suffix
        assert [g.frames for g in again] == [g.frames for g in gops]
        assert [g.start_s for g in again] == pytest.approx([g.start_s for g in gops], abs=1e-3)
    recs = _ledger_for(clip)
    checks = compare_sources(recs, [mkv])
    [m] = checks[0].mismatches
    assert m.kind == "remuxed" and not m.problem and "file bytes differ, picture data identical" in m.message


def test_streaming_hasher_equals_whole_file(clip: Path) -> None:
    with av.open(str(clip)) as c:
        s = c.streams.video[0]
        h = GopHasher.from_stream(s, offset_s=100.0, source=3)
        streamed = []
        for pk in c.demux(s):
            s.codec_context.decode(pk)  # as in a scan: the decoder sees the packet first
            done = h.feed(pk)
            assert len(done) <= 1
            streamed += done
            if done:  # a GOP is handed out when the next one's first packet arrives
                assert pk.is_keyframe
        streamed += h.finish()
        assert h.finish() == []
    whole = gop_hashes(clip)
    assert [g.sha256 for g in streamed] == [g.sha256 for g in whole]
    assert [g.start_s for g in streamed] == pytest.approx([g.start_s + 100.0 for g in whole])
    assert streamed[0].to_data()["source"] == 3 and "source" not in whole[0].to_data()


def _ledger_for(path: Path, *, name: str | None = None) -> list[dict[str, Any]]:
    src = source_data(path, 0)
    if name:
        src["path"] = name
    recs = [{"kind": "source", "data": src}]
    recs += [{"kind": "gop", "data": g.to_data() | {"source": 0}} for g in gop_hashes(path)]
    return recs


def test_cut_gop_is_reported_missing_with_its_time(clip: Path, tmp_path: Path) -> None:
    owner = _packet_gops(clip)
    cut = _remux(clip, tmp_path / "cut.ts", skip=lambda i: owner[i] == 3)
    mismatches = verify_sources(_ledger_for(clip), [cut])
    problems = [m for m in mismatches if m.problem]
    assert [(m.kind, m.gop) for m in problems] == [("missing", 3)]
    assert problems[0].start_s == pytest.approx(3.0) and problems[0].end_s == pytest.approx(4.0)
    assert "GOP 3 (3.000-4.000 s, 25 frames): missing" in problems[0].message
    assert [m.kind for m in mismatches if not m.problem] == ["file_differs"]


def test_flipped_bytes_alter_exactly_one_gop(clip: Path, tmp_path: Path) -> None:
    owner = _packet_gops(clip)
    target = owner.index(4) + 7  # a P/B picture inside GOP 4

    def flip(i: int, data: bytes) -> bytes:
        if i != target:
            return data
        b = bytearray(data)
        b[-5] ^= 0x5A  # inside the last slice's payload
        return bytes(b)

    bad = _remux(clip, tmp_path / "flip.mkv", edit=flip)
    problems = [m for m in verify_sources(_ledger_for(clip), [bad]) if m.problem]
    assert [(m.kind, m.gop) for m in problems] == [("altered", 4)]
    assert problems[0].start_s == pytest.approx(4.0)
    # The same edit made in place in the original file's bytes.
    with av.open(str(clip)) as c:
        pos = [pk.pos for pk in c.demux(c.streams.video[0]) if pk.size]
    raw = bytearray(clip.read_bytes())
    raw[pos[owner.index(2) + 3] + 20] ^= 0xFF
    edited = tmp_path / "edited.mp4"
    edited.write_bytes(bytes(raw))
    problems = [m for m in verify_sources(_ledger_for(clip), [edited]) if m.problem]
    assert [(m.kind, m.gop) for m in problems] == [("altered", 2)]


def test_moved_extra_and_shifted(clip: Path, tmp_path: Path) -> None:
    gops = gop_hashes(clip)
    recs = _ledger_for(clip)
    # A ledger that saw GOP 2 twice less: the file has an extra GOP.
    fewer = [r for r in recs if not (r["kind"] == "gop" and r["data"]["index"] == 2)]
    assert [(m.kind, m.file_gop) for m in verify_sources(fewer, [clip]) if m.problem] == [("extra", 2)]
    # Cutting the first GOP moves the file's time origin: the rest is shifted by -1 s.
    owner = _packet_gops(clip)
    late = _remux(clip, tmp_path / "late.mp4", skip=lambda i: owner[i] == 0)
    ms = [m for m in verify_sources(recs, [late]) if m.problem]
    assert ms[0].kind == "missing" and ms[0].gop == 0
    assert [m.gop for m in ms[1:]] == [1, 2, 3, 4, 5] and {m.kind for m in ms[1:]} == {"shifted"}
    assert all(m.delta_s == pytest.approx(-1.0) for m in ms[1:])
    # Swapped GOPs: each is found elsewhere in the file.
    swapped = [dict(r, data=dict(r["data"])) for r in recs]
    g = [r for r in swapped if r["kind"] == "gop"]
    g[1]["data"]["sha256"], g[4]["data"]["sha256"] = gops[4].sha256, gops[1].sha256
    kinds = sorted((m.kind, m.gop) for m in verify_sources(swapped, [clip]) if m.problem)
    assert kinds == [("moved", 1), ("moved", 4)]


def test_other_codecs_hash_whole_packets(tmp_path: Path, synth_frames: list[np.ndarray]) -> None:
    mp4 = _encode(tmp_path / "m4.mp4", synth_frames[:50], 25, codec="mpeg4", gop=10)
    gops = gop_hashes(mp4)
    assert len(gops) == 5 and {g.method for g in gops} == {"packet"} and gops[0].codec == "mpeg4"


def test_h265_survives_remuxing(tmp_path: Path, synth_frames: list[np.ndarray]) -> None:
    if "libx265" not in av.codecs_available:
        pytest.skip("no libx265 in this PyAV build")
    src = _encode(tmp_path / "h.mp4", synth_frames[:60], 25, codec="libx265", gop=20)
    gops = gop_hashes(src)
    assert len(gops) >= 3 and gops[0].codec == "hevc" and gops[0].method == "vcl"
    for fmt in ("ts", "mkv"):
        assert [g.sha256 for g in gop_hashes(_remux(src, tmp_path / f"h.{fmt}"))] == [g.sha256 for g in gops]


def test_annexb_and_length_prefixed_hash_alike() -> None:
    # Two slices (IDR, then P), an SPS, an SEI and an AUD, framed both ways.
    sps, sei, aud = b"\x67\x64\x00\x1f\xac", b"\x06\x05\x01\xaa\x80", b"\x09\xf0"
    idr, p = b"\x65\x88\x80\x00\x03\x01\x10", b"\x41\x9a\x02\x20"
    pref = lambda *nals: b"".join(len(n).to_bytes(4, "big") + n for n in nals)
    annexb = lambda *nals: b"".join(b"\x00\x00\x00\x01" + n for n in nals)
    avcc = b"\x01\x64\x00\x1f\xff\xe1\x00\x05" + sps  # avcC, 4-byte lengths
    a = GopHasher("h264", Fraction(1, 25), extradata=avcc)
    b = GopHasher("h264", Fraction(1, 25))
    ra = a.feed_data(pref(sei, idr), 0) + a.feed_data(pref(p), 1) + a.feed_data(pref(idr), 2) + a.finish()
    rb = (
        b.feed_data(annexb(aud, sps, sei, idr) + b"\x00\x00", 0)
        + b.feed_data(annexb(aud, p), 1)
        + b.feed_data(annexb(sps), None)  # parameter sets only: not a picture
        + b.feed_data(annexb(aud, sps, idr), 2)
        + b.finish()
    )
    assert [(g.sha256, g.frames, g.start_s, g.end_s) for g in ra] == [
        (g.sha256, g.frames, g.start_s, g.end_s) for g in rb
    ]
    assert len(ra) == 2 and ra[0].frames == 2 and ra[0].end_s == pytest.approx(0.08)
    assert ra[0].sha256 == hashlib.sha256(pref(idr, p)).hexdigest()


# --------------------------------------------------------------------------- CLI


def _scan_dir(tmp_path: Path, clip: Path) -> Path:
    out = tmp_path / "scan"
    out.mkdir()
    summary: dict[str, Any] = {"status": "complete", "counts": {"total": 1}, "source": str(clip)}
    with LedgerWriter(out / "ledger.jsonl") as led:
        led.append("scan", {"software": "borderwatch test", "settings": {}})
        led.append("source", source_data(clip, 0))
        for g in gop_hashes(clip, source=0):
            led.append("gop", g.to_data())
        led.append("crossing", {"time_s": 2.24, "direction": "A->B"})
        head = led.finish("complete", summary_sha256=summary_digest(summary))
        summary["ledger"] = {"head": head, "records": led.count}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return out


def test_cli_verify(tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scan = _scan_dir(tmp_path, clip)
    assert main(["ledger", "verify", str(scan)]) == 0
    out = capsys.readouterr().out
    assert "Chain    OK" in out and "Verdict  OK" in out and "Summary  OK" in out and "--source" in out

    assert main(["ledger", "verify", str(scan), "--source", str(clip)]) == 0
    out = capsys.readouterr().out
    assert "file sha256 identical" in out and "6 of 6 GOPs" in out

    owner = _packet_gops(clip)
    cut = _remux(clip, tmp_path / "cut.ts", skip=lambda i: owner[i] in (2, 3))
    assert main(["ledger", "verify", str(scan), "--source", str(cut)]) == 1
    out = capsys.readouterr().out
    assert "MISSING  GOPs 2-3 (2.000-4.000 s): missing from the file (cut)" in out and "BROKEN" in out

    assert main(["ledger", "verify", str(scan), "--source", str(cut), "--json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] is False and verdict["chain"]["ok"] is True
    assert [m["gop"] for m in verdict["sources"][0]["mismatches"] if m["problem"]] == [2, 3]

    remuxed = _remux(clip, tmp_path / "r.mkv")
    assert main(["ledger", "verify", str(scan), "-s", str(remuxed)]) == 0
    assert "file bytes differ, picture data identical" in capsys.readouterr().out

    # Tampering with the ledger, then with the summary.
    lines = (scan / "ledger.jsonl").read_text().splitlines()
    rec = json.loads(lines[-2])
    rec["data"]["direction"] = "B->A"
    (scan / "ledger.jsonl").write_text("\n".join(lines[:-2] + [json.dumps(rec), lines[-1]]) + "\n")
    assert main(["ledger", "verify", str(scan)]) == 1
    out = capsys.readouterr().out
    assert f"record at line {len(lines) - 1} (seq {len(lines) - 2}, kind crossing) was edited" in out
    (scan / "ledger.jsonl").write_text("\n".join(lines) + "\n")
    summary = json.loads((scan / "summary.json").read_text())
    summary["counts"]["total"] = 0
    (scan / "summary.json").write_text(json.dumps(summary))
    assert main(["ledger", "verify", str(scan)]) == 1
    assert "summary.json was changed after the scan" in capsys.readouterr().out


def test_cli_bad_input_and_gops(tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "verify", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["ledger", "verify", str(tmp_path)]) == 2
    assert "has no ledger.jsonl" in capsys.readouterr().err
    scan = _scan_dir(tmp_path, clip)
    assert main(["ledger", "verify", str(scan), "--source", str(tmp_path / "gone.mp4")]) == 2
    capsys.readouterr()
    assert main(["ledger", "gops", str(clip), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["codec"] == "h264" and len(data["gops"]) == 6 and data["sha256"] == file_sha256(clip)
    assert main(["ledger", "gops", str(clip)]) == 0
    out = capsys.readouterr().out
    assert "6 GOPs, 150 frames" in out and gop_hashes(clip)[5].sha256 in out
    assert main(["ledger", "gops", str(tmp_path / "nope.mp4")]) == 2
    assert main(["ledger", "--help"]) == 0
    assert main(["ledger", "verify", "--help"]) == 0
    assert "borderwatch ledger verify scan/ --source clip.mp4" in capsys.readouterr().out


def test_segments_are_matched_to_their_sources(clip: Path, tmp_path: Path, synth_frames: list[np.ndarray]) -> None:
    seg2 = _encode(tmp_path / "seg2.mp4", synth_frames[::-1][:50], 25)
    recs: list[dict[str, Any]] = []
    for i, (path, offset) in enumerate(((clip, 0.0), (seg2, 6.0))):
        recs.append({"kind": "source", "data": source_data(path, i, offset_s=offset)})
        recs += [{"kind": "gop", "data": g.to_data()} for g in gop_hashes(path, offset_s=offset, source=i)]
    renamed = _remux(seg2, tmp_path / "renamed.ts")
    checks = compare_sources(recs, [renamed, clip])
    assert [c.source.key if c.source else None for c in checks] == [1, 0]
    assert [[m.kind for m in c.mismatches] for c in checks] == [["remuxed"], []]
    # The second segment's GOPs are on the scan's timeline (offset 6 s).
    assert [g["data"]["start_s"] for g in recs if g["kind"] == "gop" and g["data"]["source"] == 1] == [6.0, 7.0]
    owner = _packet_gops(seg2)
    cut = _remux(seg2, tmp_path / "cut2.mkv", skip=lambda i: owner[i] == 1)
    [m] = [m for m in verify_sources(recs, [cut]) if m.problem]
    assert (m.kind, m.gop, m.start_s) == ("missing", 1, pytest.approx(7.0))


def test_sei_recovery_point_is_found_among_other_messages():
    from borderwatch.ledger.gop import _sei_recovery_point

    def sei(*messages: tuple[int, bytes]) -> memoryview:
        body = b""
        for ptype, payload in messages:
            body += b"\xff" * (ptype // 255) + bytes([ptype % 255])
            body += b"\xff" * (len(payload) // 255) + bytes([len(payload) % 255]) + payload
        return memoryview(b"\x06" + body + b"\x80")

    assert _sei_recovery_point(sei((5, b"x" * 300), (6, b"\x80\x00")))  # after a 300-byte user message
    assert not _sei_recovery_point(sei((5, b"x" * 20)))
    assert not _sei_recovery_point(sei((260, b"abc")))  # type 260 is coded 0xFF 0x05, not 6
    assert not _sei_recovery_point(memoryview(b"\x06\x05\xff"))  # cut inside the size
