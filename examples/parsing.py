"""Constituency parsing with a structural SVM (SVM-cfg) on the PTB WSJ sample.

Trains on the training trees of at most 15 tokens (trees 1-3000 of the sample), then
compares with the relative-frequency PCFG read off the same binarized trees, scored with
evalb's COLLINS.prm conventions. Needs the data under $STRUCTPRED_DATA (see
structpred.datasets.load_ptb_sample). About 15-50 s on this 2-core machine, depending on its load.
"""
import time

from structpred import StructuredSVM
from structpred.datasets import load_ptb_sample
from structpred.metrics.brackets import bracket_scores, sentence_length
from structpred.tasks.parsing import ConstituencyParsing, sentence

data = load_ptb_sample()
train = [t for t in data["train"] if sentence_length(t) <= 15]
test = [t for t in data["test"] if sentence_length(t) <= 15]
X, Xt = [sentence(t) for t in train], [sentence(t) for t in test]

model = ConstituencyParsing(horizontal=1)          # rule counts + span and split features
t0 = time.time()
svm = StructuredSVM(model, C=100.0, eps=0.1, verbose=1).fit(X, train)   # a line per pass
print(f"trained on {len(train)} trees in {time.time() - t0:.1f} s ({svm.n_iter_} iterations)")

pred = svm.predict(Xt)
pcfg = model.batch_inference(model.make_batch(Xt), model.pcfg_weights())
print(f"test sentences <= 15 tokens: {len(test)}")
print(f"  PCFG  F1 {bracket_scores(test, pcfg)['f1']:.1f}")
print(f"  SSVM  F1 {bracket_scores(test, pred)['f1']:.1f}")
print("example:", pred[0])
