"""`train_event_dictionary`: a zstd dictionary from the stored events, on a sample it can promise."""

import re

import pytest
import zstandard
from django.core.management import CommandError, call_command

from events.raw import append_batch
from events.store import ANY, NewEvent

pytestmark = pytest.mark.django_db


def fill(events: int) -> None:
    append_batch([(f"agent:a{n % 50}", [NewEvent("agent.action.submitted", {"tick": n, "action": {"type": "rest"}},
                                                 {"actor": f"agent:a{n % 50}", "tick": n})], ANY)
                  for n in range(events)])


@pytest.mark.parametrize(("args", "message"), [
    (["--size", "0"], "--size must be between"),
    (["--size", "-1"], "--size must be between"),
    (["--samples", "0"], "--samples must be at least"),
    (["--samples", "-5"], "--samples must be at least"),
])
def test_bad_arguments_are_refused(tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("train_event_dictionary", "--out", str(tmp_path / "d.zdict"), *args)


def test_an_out_file_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no such folder"):
        call_command("train_event_dictionary", "--out", str(tmp_path / "missing" / "d.zdict"))


def test_it_trains_on_at_most_the_samples_asked_for(tmp_path, capsys):
    fill(3000)
    out = tmp_path / "d.zdict"
    call_command("train_event_dictionary", "--out", str(out), "--samples", "1000", "--size", "2048")
    texts = int(re.search(r"on ([\d,]+) texts", capsys.readouterr().out).group(1).replace(",", ""))
    assert 500 <= texts <= 1000
    dictionary = zstandard.ZstdCompressionDict(out.read_bytes())
    assert len(dictionary.as_bytes()) <= 2048
