"""``mlops lint-test``: black, flake8 and pytest on a user's project.

``inputs`` turns the action's inputs into a checked plan, ``tools`` runs the
three tools as subprocesses, ``findings`` and ``junit`` read their output
(pure), ``report`` renders the step summary (pure) and ``run`` ties them
together into one :class:`~mlops_actions.linttest.run.LintTestResult`.
"""
