"""Ingest's on-disk bookkeeping: the summary table, its key set and the inventory (temporary SQLite)."""

from __future__ import annotations

from interop.normalize import summaries
from interop.normalize.inventory import Inventory, InventoryEntry
from interop.normalize.summaries import Summary, SummaryTable


def summary(seq: int, key: str, links=(), indirect=(), references=()) -> Summary:
    rtype = key.split("/")[0]
    return Summary(seq, key, rtype, "f.ndjson", seq + 1, None, None, None, f"hash{seq}", tuple(links),
                   tuple(indirect), tuple(references))


def filled_table(rows: list[Summary], contained: list[str] = ()) -> SummaryTable:
    table = SummaryTable()
    for row in rows:
        table.add(row)
    for key in contained:
        table.add_contained(key)
    table.finish()
    return table


def test_summaries_come_back_in_reading_order_with_their_references(monkeypatch):
    monkeypatch.setattr(summaries, "INSERT_BATCH", 3)      # several batches of inserts
    note = ((["subject"], "Patient/p1/_history/2", "Patient/p1"),)
    rows = [summary(i, f"Observation/o{i}", links=["Patient/p1"], references=note) for i in range(8)]
    table = filled_table(rows)
    back = list(table.in_order())
    assert [s.key for s in back] == [f"Observation/o{i}" for i in range(8)]
    assert back[5].links == ("Patient/p1",) and back[5].indirect == ()
    assert list(back[5].references[0]) == [["subject"], "Patient/p1/_history/2", "Patient/p1"]
    assert [(link.seq, link.key, link.links) for link in table.links_in_order()][:2] == [
        (0, "Observation/o0", ("Patient/p1",)), (1, "Observation/o1", ("Patient/p1",))]
    table.close()


def test_repeated_keys_are_grouped_in_order_of_first_reading():
    rows = [summary(0, "Patient/b"), summary(1, "Patient/a"), summary(2, "Observation/x"), summary(3, "Patient/a"),
            summary(4, "Patient/b"), summary(5, "Patient/b")]
    table = filled_table(rows)
    groups = [[(s.key, s.seq) for s in copies] for copies in table.repeated_keys()]
    assert groups == [[("Patient/b", 0), ("Patient/b", 4), ("Patient/b", 5)], [("Patient/a", 1), ("Patient/a", 3)]]
    assert table.keys_of_type("Patient") == ["Patient/a", "Patient/b"]
    assert table.first_of("Patient/b").seq == 0 and table.first_of("Patient/zz") is None
    table.close()


def test_key_set_answers_membership_for_resources_and_contained_resources():
    table = filled_table([summary(0, "MedicationRequest/m1"), summary(1, "Patient/p1")],
                         contained=["MedicationRequest/m1#med"])
    keys = table.keys
    assert "Patient/p1" in keys and "MedicationRequest/m1#med" in keys
    assert "Patient/p2" not in keys and "MedicationRequest/m1#other" not in keys and "Patient/p1#x" not in keys
    assert "Patient/p1" in keys       # the cached answer is the same
    table.close()


def test_inventory_keeps_order_counts_and_dropped_entries_past_one_insert_batch():
    entries = [InventoryEntry(f"Observation/o{i}", "Observation", "f", i, None, "Patient/p1", "kept")
               for i in range(25_000)]
    entries[10_500] = InventoryEntry("Observation/o1", "Observation", "f", 10_500, None, "Patient/p1", "duplicate",
                                     "duplicate of Observation/o1 (f entry 1)")
    entries.append(InventoryEntry(None, None, "g", 3, None, None, "unreadable", "invalid JSON on line 3"))
    inventory = Inventory(entries)
    assert len(inventory) == 25_001
    assert list(inventory) == entries
    assert inventory.counts_by_type() == {"(unreadable)": {"input": 1, "unreadable": 1},
                                          "Observation": {"duplicate": 1, "input": 25_000, "kept": 24_999}}
    assert [(e.entry, e.status) for e in inventory.dropped()] == [(10_500, "duplicate"), (3, "unreadable")]


def test_spilled_lines_can_be_read_back_from_any_recorded_offset(tmp_path, monkeypatch):
    from interop.normalize import inputs

    monkeypatch.setattr(inputs, "OFFSET_EVERY", 5)
    store = inputs._SpillList(3, lambda: tmp_path)
    lines = [b'{"n":%d}' % n for n in range(23)]
    for line in lines:
        store.append(line)
    store.finish()
    assert store.spilled and store.memory == [] and store.count == 23     # the first 3 moved to the file too
    assert (tmp_path / "read.ndjson").read_bytes() == b"".join(line + b"\n" for line in lines)
    chunks = store.chunks(2)
    assert [(start, stop) for start, stop, _ in chunks] == [(0, 15), (15, 23)]
    with open(store.path, "rb") as handle:
        for start, stop, offset in chunks:
            handle.seek(offset)
            assert [handle.readline()[:-1] for _ in range(start, stop)] == lines[start:stop]
    assert [(start, stop) for start, stop, _ in store.chunks(1)] == [(0, 23)]
