"""Learning to rank: SVM-rank (``Ranking``) and Propensity SVM-rank (``PropensityRanking``),
plus the click simulator and propensity estimators of unbiased learning to rank (``clicks``)."""
from .flat import join_scores, query_rows, split_queries
from .model import Click, PairLabelling, PropensityRanking, Ranking, RankingBatch, stack_queries

__all__ = ["Ranking", "PropensityRanking", "Click", "PairLabelling", "RankingBatch",
           "stack_queries", "split_queries", "join_scores", "query_rows"]
