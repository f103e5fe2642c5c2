"""Fair ranking on top of the ranking task: fairness of exposure (Singh & Joachims, KDD 2018),
Fair-PG-Rank (Singh & Joachims, NeurIPS 2019; from clicks: Yadav, Du & Joachims, SIGIR 2021),
FA*IR (Zehlike et al., CIKM 2017) and dynamic learning to rank with FairCo (Morik, Singh, Hong &
Joachims, SIGIR 2020).

Modules: ``exposure`` (measures), ``lp`` (fair-ranking LP, Birkhoff-von Neumann sampler),
``fair_pg_rank`` (policy-gradient training of Plackett-Luce policies), ``fair_star`` (FA*IR),
``dynamic`` (the news simulation and its rankers), ``pooled`` (its relevance model pooled over the
items), ``clicklog`` (click-log checks).
"""
from .exposure import (exposure_from_P, exposure_from_ranking, exposure_from_samples,
                       fairness_gaps, group_disparity, individual_disparity, position_exposure)
from .fair_pg_rank import FairPGRank, ips_relevance, policy_measures
from .fair_star import adjusted_alpha, fail_probability, fair_top_k, is_fair, mtable
from .lp import BvNSampler, birkhoff_von_neumann, fair_ranking_lp

__all__ = ["exposure_from_P", "exposure_from_ranking", "exposure_from_samples", "fairness_gaps",
           "group_disparity", "individual_disparity", "position_exposure", "FairPGRank",
           "ips_relevance", "policy_measures", "adjusted_alpha", "fail_probability",
           "fair_top_k", "is_fair", "mtable", "BvNSampler", "birkhoff_von_neumann",
           "fair_ranking_lp"]
