"""Experiments as jobs: the run store and the executor (learning-curves tab, next issue).

Imports point one way: ``ui -> runs -> core``.
"""
