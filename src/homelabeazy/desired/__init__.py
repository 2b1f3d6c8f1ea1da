"""The vocabulary of desired objects: what the service catalog and the convergence proof both speak.

A desired object with its origin (`state`), the selectors that read its fields (`selectors`), the
flows a service needs (`needs`), the objects an operator makes at run time (`made`), one service's
effective objects as a pod really sees them (`effective`) and the promises kept on them
(`outcomes`). It imports
nothing of the project but itself, so the catalog (model) can write its knowledge in it while the
proof engine (converge), which sits above render, reads the same words.
"""
