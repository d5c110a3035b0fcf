"""The control plane in a box: the real Kubernetes API server, scheduler and controllers (and Kueue, KServe,
Argo CD) built from their Go modules by cluster/build and run on loopback, with kwok standing in for kubelets.

Only commands import this package. `box` holds the Box and the Component interface every part implements.
"""
