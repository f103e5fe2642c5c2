"""The registry of file readers: name -> :class:`Reader` (the callable, its format and a tiny
valid sample). The registry-driven battery (tests/test_registry_battery.py) throws truncated,
garbage, gzip-bomb, endless-line, empty and piped variants of each sample at each reader; a
new reader is covered by adding one entry here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

__all__ = ["Reader", "READERS", "get_reader"]


@dataclass(frozen=True)
class Reader:
    """One reader: ``target`` ("module:function"), the file ``suffix`` its sample gets,
    ``sample`` (the text of a small valid file; a dict {file name: text} for a folder
    reader), ``kwargs`` for the call, ``stream`` (reads a path once, front to back: pipes
    and /dev/stdin work)."""
    target: str
    suffix: str
    sample: str | dict
    kwargs: dict = field(default_factory=dict)
    stream: bool = True

    def load(self):
        """The reader callable (imported on first use)."""
        module, attr = self.target.split(":")
        return getattr(import_module(module, __package__), attr)

    def __call__(self, path):
        return self.load()(path, **self.kwargs)


_JSONL = ('{"id": "q1", "query": "jaguar", "documents": ["cat", {"title": "car", "snippet": "fast"}, '
          '"os"], "ranks": [1, 2, 3], "subtopics": [["animal"], ["car"], []]}\n'
          '{"id": "q2", "documents": ["a", "b"], "subtopics": [[], ["x", "y"]]}\n')

READERS: dict[str, Reader] = {
    "svm_hmm": Reader(".svmhmm:read_svmhmm", ".dat",
                      "1 qid:1 1:1 3:0.5 # w=the\n2 qid:1 2:1\n1 qid:2 1:0.25 2:1\n3 qid:2 3:2\n"),
    # the stacked form ``structpred learn`` reads (same scanner, one container per set)
    "svm_hmm_stacked": Reader(".svmhmm:read_svmhmm", ".dat",
                              "1 qid:1 1:1 3:0.5 # w=the\n2 qid:1 2:1\n1 qid:2 1:0.25 2:1\n3 qid:2 3:2\n",
                              {"stacked": True}),
    "svm_hmm_tags": Reader(".svmhmm:read_tag_names", ".tags", "1 B-NP\n2 I-NP\n3 O\n"),
    "conll": Reader(".conll:read_conll", ".txt",
                    "He PRP B-NP\nran VBD B-VP\n. . O\n\nIt PRP B-NP\nworks VBZ B-VP\n"),
    "svm_rank": Reader(".letor:load_letor", ".txt",
                       "2 qid:1 1:0.5 2:1 # d1\n0 qid:1 1:0.1 3:1\n1 qid:2 2:0.3\n0 qid:2 1:1\n",
                       {"kind": "rank"}),
    "svm_proprank": Reader(".letor:load_letor", ".txt",
                           "1 qid:1 cost:2.5 1:0.5 2:1\n0 qid:1 1:0.1 3:1\n"
                           "1 qid:2 cost:1 2:0.3\n0 qid:2 1:1\n", {"kind": "proprank"}),
    "mrg": Reader(".ptb:read_mrg_file", ".mrg",
                  "( (S (NP (DT the) (NN dog)) (VP (VBD ran)) (. .)) )\n"
                  "( (S (NP (PRP it)) (VP (VBD saw) (NP (DT a) (NN cat)))) )\n"),
    "diversity_jsonl": Reader(".diversity:read_jsonl", ".jsonl", _JSONL),
    "ambient_folder": Reader(".diversity:read_ambient_folder", "", {
        "topics.txt": "ID\tdescription\n1\tjaguar\n",
        "results.txt": "ID\turl\ttitle\tsnippet\n1.1\thttp://a\tcat\tbig cat\n"
                       "1.2\thttp://b\tcar\tfast car\n",
        "subTopics.txt": "ID\tdescription\n1.1\tanimal\n1.2\tcar\n",
        "STRel.txt": "subTopicID\tresultID\n1.1\t1.1\n1.2\t1.2\n"}, stream=False),
    "csv_table": Reader(".multiclass:read_csv_table", ".csv", "5.1,3.5,0\n4.9,3.0,1\n6.2,2.9,2\n"),
    "german_credit": Reader(".german_credit:read_german_credit", ".data",
                            "A11 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 1\n"
                            "A12 48 A32 A43 5951 A61 A73 2 A92 A101 2 A121 22 A143 A152 1 A173 1 A191 A201 2\n"),
    "adfontes": Reader(".adfontes:read_adfontes", ".csv",
                       "Source,Url,Bias,Quality\nCNN,http://a,-6.5,32\n"
                       "\"Fox News\",http://b,27,20.5\nAP,http://c,0,62\n"),
    # the logged-feedback reader of structpred.counterfactual (registered here so that the
    # reader battery covers it; imported by name on first use, no import arrow upwards)
    "vw_feedback": Reader("structpred.counterfactual.io:read_feedback", ".vw",
                          "# logging_policy: uniform\n1:0.5:0.25 | 0:1.0 2:0.5\n"
                          "3:1:0.5 | 1:2.0\n2:0:0.25 | 0:0.5 1:1 2:-1\n"),
}


def get_reader(name: str) -> Reader:
    """The registered reader ``name`` (KeyError listing the names otherwise)."""
    try:
        return READERS[name]
    except KeyError:
        raise KeyError(f"unknown reader {name!r}; registered: {', '.join(READERS)}") from None
