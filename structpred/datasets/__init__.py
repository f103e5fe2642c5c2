"""Loaders for the public datasets (data home: argument, $STRUCTPRED_DATA, or a user cache)."""
from importlib import import_module

from .home import get_data_home, require_file

_LAZY = {
    "load_digits": ".multiclass", "load_iris": ".multiclass", "load_wine": ".multiclass",
    "load_conll2000": ".conll", "read_svmhmm": ".svmhmm", "write_svmhmm": ".svmhmm",
    "load_ptb_sample": ".ptb",
    "load_ambient": ".diversity", "load_trec_aspects": ".diversity",
    "make_synthetic_diversity": ".diversity",
    "load_letor": ".letor", "write_letor": ".letor", "load_mq2008": ".letor",
    "load_lightgbm_rank": ".letor", "read_jsonl": ".diversity", "read_csv_table": ".multiclass",
    "READERS": ".readers", "Reader": ".readers", "get_reader": ".readers",
    "load_german_credit": ".german_credit",
    "load_adfontes": ".adfontes", "read_adfontes": ".adfontes",
    "load_scene": ".multilabel",
    "make_hmm_sequences": ".synthetic",
}

__all__ = ["get_data_home", "require_file", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
