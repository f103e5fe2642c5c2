"""Learning to rank: SVM-rank (``Ranking``) and Propensity SVM-rank (``PropensityRanking``),
plus the click simulator and propensity estimators of unbiased learning to rank (``clicks``)."""
from .model import Click, PairLabelling, PropensityRanking, Ranking, RankingBatch, stack_queries

__all__ = ["Ranking", "PropensityRanking", "Click", "PairLabelling", "RankingBatch",
           "stack_queries"]
