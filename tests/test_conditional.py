"""ganlib.conditional: k-means clusters, the cluster-code generator, the projection discriminator,
the conditional steps and trainer, and a cluster run through ganlib.run."""
from __future__ import annotations

import pytest
import torch

from ganlib import conditional, data, models, run, train
from ganlib.conditional import ConditionalTrainer


# ------------------------------------------------------------------ k-means and purity
def _blobs(n_per: int = 200, k: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])[:k]
    x = torch.cat([c + torch.randn(n_per, 2, generator=g) for c in centres])
    return x, torch.arange(k).repeat_interleave(n_per)


def test_kmeans_recovers_separated_blobs_and_is_deterministic():
    x, truth = _blobs()
    # greedy seeding: every seed finds the four groups (plain k-means++ put two centres in one
    # group for seed 0 of these very points)
    for seed in range(5):
        assert conditional.purity(conditional.kmeans(x, 4, seed=seed)[0], truth) == 1.0, seed
    labels, centroids = conditional.kmeans(x, 4, seed=3)
    assert centroids.shape == (4, 2)
    # every centroid sits on one blob centre (within the noise of 200 points)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]], dtype=torch.float64)
    assert torch.cdist(centroids, centres).min(1).values.max() < 0.3
    again, _ = conditional.kmeans(x, 4, seed=3)
    assert torch.equal(labels, again)


def test_kmeans_lowers_its_objective_over_random_assignment():
    x, _ = _blobs()
    labels, centroids = conditional.kmeans(x, 4, seed=0)
    inertia = ((x.double() - centroids[labels]) ** 2).sum()
    rand = torch.randint(0, 4, (x.shape[0],), generator=torch.Generator().manual_seed(0))
    rand_c = torch.stack([x[rand == j].double().mean(0) for j in range(4)])
    assert inertia < 0.1 * ((x.double() - rand_c[rand]) ** 2).sum()


def test_purity_by_hand():
    labels = torch.tensor([0, 0, 1, 1])
    classes = torch.tensor([0, 1, 1, 1])
    assert conditional.purity(labels, classes) == pytest.approx(0.75)  # cluster 0: 1 of 2, cluster 1: 2 of 2


def test_pixel_clusters_of_mnist_are_far_purer_than_chance():
    images, digits = data.load_mnist("train")
    labels = conditional.image_clusters(images[:3000], 20, iters=10)
    assert labels.shape == (3000,) and int(labels.max()) < 20
    shuffled = labels[torch.randperm(3000, generator=torch.Generator().manual_seed(0))]
    assert conditional.purity(labels, digits[:3000]) > 0.6
    assert conditional.purity(shuffled, digits[:3000]) < 0.3


def test_clustering_bad_inputs_are_named():
    x, _ = _blobs()
    with pytest.raises(ValueError, match="k must be"):
        conditional.kmeans(x, 0)
    with pytest.raises(ValueError, match="exceeds"):
        conditional.kmeans(x[:3], 4)
    with pytest.raises(ValueError, match="shape"):
        conditional.kmeans(torch.zeros(5), 2)
    with pytest.raises(ValueError, match="uint8"):
        conditional.image_clusters(torch.zeros(4, 1, 28, 28), 2)
    with pytest.raises(ValueError, match="same N"):
        conditional.purity(torch.zeros(3, dtype=torch.long), torch.zeros(4, dtype=torch.long))


# ------------------------------------------------------------------ the two models
def test_cluster_code_follows_the_cluster_sizes():
    G, _ = models.mnist_pair("dcgan", z_dim=10, width=4, clusters=4)
    assert G.z_dim == 11
    G.set_counts(torch.tensor([10, 30, 0, 60]))
    z = torch.randn(40_000, G.z_dim, generator=torch.Generator().manual_seed(0))
    share = torch.bincount(G.code(z), minlength=4).double() / z.shape[0]
    assert torch.allclose(share, torch.tensor([0.1, 0.3, 0.0, 0.6], dtype=torch.float64), atol=0.01)
    # the code is read from z_0 alone
    z2 = z[:100].clone()
    z2[:, 1:] = torch.randn(100, G.z_dim - 1)
    assert torch.equal(G.code(z2), G.code(z[:100]))


def test_cluster_code_generator_draws_from_onehot_and_noise():
    G, _ = models.mnist_pair("dcgan", z_dim=10, width=4, clusters=4)
    G.eval()
    z = torch.randn(6, G.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        x = G(z)
        forced = G(z, code=torch.full((6,), 2))
        inner = G.net(torch.cat([torch.nn.functional.one_hot(torch.full((6,), 2), 4).float(), z[:, 1:]], 1))
    assert x.shape == (6, 1, 28, 28)
    assert torch.equal(forced, inner)
    assert not torch.equal(x, forced) or bool((G.code(z) == 2).all())


def test_bad_cluster_settings_are_named():
    G, _ = models.mnist_pair("dcgan", z_dim=10, width=4, clusters=4)
    with pytest.raises(ValueError, match="counts"):
        G.set_counts(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(ValueError, match="counts"):
        G.set_counts(torch.tensor([0, 0, 0, 0]))
    with pytest.raises(ValueError, match="counts"):
        G.set_counts(torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="clusters"):
        models.mnist_pair("mlp", clusters=4)
    with pytest.raises(ValueError, match="n_codes"):
        conditional.ClusterCodeGenerator(models.DCGANGenerator(z_dim=4, ngf=4), 4)
    with pytest.raises(ValueError, match="clusters must be"):
        run.RunConfig(model="dcgan", clusters=1)
    with pytest.raises(ValueError, match="dcgan"):
        run.RunConfig(model="mlp", clusters=10)


def test_projection_discriminator_uses_the_label():
    _, D = models.mnist_pair("dcgan", width=4, clusters=3)
    x = torch.randn(5, 1, 28, 28)
    D.eval()
    with torch.no_grad():
        D.embed.weight[1] += 1.0
        a0, a1 = D(x, torch.zeros(5, dtype=torch.long)), D(x, torch.ones(5, dtype=torch.long))
        plain = D.D(x)
        f = D.D.features(x).flatten(1)
    assert a0.shape == (5, 1)
    # a_y = psi(phi(x)) + e_y . phi(x): the difference between two labels is (e_1 - e_0) . phi(x)
    want = (f * (D.embed.weight[1] - D.embed.weight[0])).sum(1, keepdim=True)
    assert torch.allclose(a1 - a0, want, atol=1e-4)
    assert torch.allclose(a0, plain + (f * D.embed.weight[0]).sum(1, keepdim=True), atol=1e-4)


# ------------------------------------------------------------------ conditional training
class _Recorder(torch.nn.Module):
    """Wraps a conditional D and records the labels it is told."""

    def __init__(self, D: torch.nn.Module) -> None:
        super().__init__()
        self.D, self.seen = D, []

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.seen.append(y.clone())
        return self.D(x, y)


def test_conditional_trainer_tells_d_the_real_labels_and_the_codes_of_the_noise(one_thread):
    G, D = models.mnist_pair("dcgan", z_dim=8, width=4, clusters=3)
    images, _ = data.load_mnist("train")
    labels = torch.arange(64) % 3
    batches = data.DeviceBatches(images[:64], labels=labels, seed=0, call_labeled=True)
    rec = _Recorder(D)
    tr = ConditionalTrainer(G, rec, batches, batch_size=16, seed=5)
    data_state = batches.state_dict()
    noise_state = tr.noise_gen.get_state()
    tr.d_update()
    real_y, fake_y = rec.seen
    # the real labels are those of the images served
    probe = data.DeviceBatches(images[:64], labels=labels, seed=0)
    probe.load_state_dict(data_state)
    assert torch.equal(real_y, probe.next_labeled_batch(16)[1])
    # the fake labels are the codes of the noise the trainer drew
    tr.noise_gen.set_state(noise_state)
    assert torch.equal(fake_y, G.code(tr.sample_noise(16)))
    tr.g_update()
    assert len(rec.seen) == 3


def test_conditional_trainer_refuses_what_it_cannot_do():
    G, D = models.mnist_pair("dcgan", z_dim=8, width=4)
    with pytest.raises(ValueError, match="code"):
        ConditionalTrainer(G, D, lambda m: torch.zeros(m, 1, 28, 28))
    Gc, Dc = models.mnist_pair("dcgan", z_dim=8, width=4, clusters=3)
    with pytest.raises(ValueError, match="d_penalty"):
        ConditionalTrainer(Gc, Dc, lambda m: torch.zeros(m, 1, 28, 28), d_penalty=lambda D, r, f: torch.zeros(()))
    with pytest.raises(ValueError, match="call_labeled"):
        data.DeviceBatches(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), call_labeled=True)


def test_conditional_steps_are_the_plain_steps_when_d_ignores_the_label():
    """With a D that ignores y, conditional_d_step / conditional_g_step are train.d_step / g_step."""
    class IgnoresLabel(torch.nn.Module):
        def __init__(self, D):
            super().__init__()
            self.D = D

        def forward(self, x, y=None):
            return self.D(x)

    def pair():
        torch.manual_seed(0)
        G, D = models.mnist_pair("dcgan", z_dim=8, width=4, clusters=3)
        D = IgnoresLabel(D.D)
        return G, D, torch.optim.Adam(D.parameters(), 1e-3), torch.optim.Adam(G.parameters(), 1e-3)
    real, y = torch.rand(8, 1, 28, 28) * 2 - 1, torch.zeros(8, dtype=torch.long)
    z = torch.randn(8, 9, generator=torch.Generator().manual_seed(1))
    G1, D1, od1, og1 = pair()
    G2, D2, od2, og2 = pair()
    a = conditional.conditional_d_step(G1, D1, od1, real, y, z)
    b = train.d_step(G2, D2, od2, real, z)
    c = conditional.conditional_g_step(G1, D1, og1, z)
    d = train.g_step(G2, D2, og2, z)
    assert torch.equal(a[0], b[0]) and torch.equal(c[0], d[0])
    for p, q in zip(list(G1.parameters()) + list(D1.parameters()), list(G2.parameters()) + list(D2.parameters())):
        assert torch.equal(p, q)
