"""ganlib: the shared library of gan-course.

Notebooks import modules by name so a learner can see where each function lives::

    from ganlib import config, toy, models, losses, train, plot

Modules (one concept each):
    config    device choice, seeds, quick mode, package paths
    data      MNIST / Fashion-MNIST: find, download, verify, offline path; device-resident batches
    toy       1-D and 2-D target distributions with exact densities
    theory    D*, V(G, D), C(G), KL, JSD by quadrature; Prop. 2 in function space
    models    toy MLPs, MNIST MLP pair, DCGAN pair, cluster-code G and projection D, weight init
    losses    discriminator loss; saturating and non-saturating generator losses
    remedies  mode-collapse remedies (packing, minibatch std, spectral norm, gradient penalty)
    train     the one training loop (Algorithm 1) and its History
    checkpoint atomic checkpoints and resume
    metrics   toy mode coverage
    image_metrics  MNIST classifier, digit histogram, classifier score, FID
    clusters  k-means clusters of the training images (a latent space with a discrete part)
    plot      Figure 1, densities, fields, image grids, curves, animations
    widgets   the mode-collapse explorer
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
