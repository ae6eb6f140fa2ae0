"""Topic discovery: clusters of calls nobody has labeled (or the classifier answered
``unknown``), named by their distinctive words (c-TF-IDF) and, with an LLM, a short name.

``discover`` (``discovery``) is the entry point; ``features`` turns stored call vectors and BM25
vectors into one similarity, ``cluster`` groups by it (HDBSCAN or agglomerative), ``terms``
finds the words that set a group apart, ``naming`` asks the LLM for a name."""

from retrieval.topics.clustering import METHODS, NOISE, cluster
from retrieval.topics.discovery import Discovery, Member, Topic, TopicOptions, discover
from retrieval.topics.features import CallFeatures, PoolCall, language_centres
from retrieval.topics.naming import TopicName, name_topic, suggest_label
from retrieval.topics.terms import distinctive_terms, words

__all__ = [
    "METHODS",
    "NOISE",
    "CallFeatures",
    "Discovery",
    "Member",
    "PoolCall",
    "Topic",
    "TopicName",
    "TopicOptions",
    "cluster",
    "discover",
    "distinctive_terms",
    "language_centres",
    "name_topic",
    "suggest_label",
    "words",
]
