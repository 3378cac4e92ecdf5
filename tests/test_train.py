"""The training loop: Algorithm 1's steps and structure, determinism, resume and the divergence guard."""
import copy

import pytest
import torch

from ganlib import models, toy, train


def make(seed=0, **kw):
    torch.manual_seed(seed)
    G, D = models.ToyGenerator(1, 1, 8), models.ToyDiscriminator(1, 16)
    opts = dict(batch_size=32, lr_d=1e-3, lr_g=1e-3, seed=seed, log_every=10)
    opts.update(kw)
    return train.GANTrainer(G, D, toy.Sampler(toy.gaussian(1.0, 0.5), seed), **opts)


def test_same_seed_same_history():
    a, b = make(3).run(60), make(3).run(60)
    assert a.to_dict() == b.to_dict() and len(a) == 60
    c = make(4).run(60)
    assert c.d_loss != a.d_loss


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(k):
    tr = make(k=k)
    calls = {"d": 0, "g": 0}
    tr.opt_d.register_step_post_hook(lambda *a: calls.__setitem__("d", calls["d"] + 1))
    tr.opt_g.register_step_post_hook(lambda *a: calls.__setitem__("g", calls["g"] + 1))
    tr.run(7)
    assert calls == {"d": 7 * k, "g": 7}


def test_frozen_generator_is_unchanged_and_d_learns():
    tr = make(train_g=False)
    before = copy.deepcopy(tr.G.state_dict())
    h = tr.run(200)
    assert all(torch.equal(before[k], v) for k, v in tr.G.state_dict().items())
    assert h.last("d_loss", 20) < h.d_loss[0]
    assert max(h.g_grad_norm) == 0.0


def test_resume_equals_uninterrupted_run():
    straight = make(5).run(80).to_dict()
    first = make(5)
    first.run(30)
    state = copy.deepcopy(first.state_dict())
    resumed = make(5)
    resumed.load_state_dict(state)
    assert resumed.run(50).to_dict() == straight


def test_nan_raises_divergence_error_naming_the_step():
    tr = make()
    tr.run(15)
    with torch.no_grad():
        tr.D.net[0].weight.fill_(float("nan"))
    with pytest.raises(train.DivergenceError, match="diverged at step 16") as info:
        tr.run(10)
    assert info.value.step == 16 and len(tr.history) == 15


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="batch_size"):
        make(batch_size=0)
    with pytest.raises(ValueError, match="lr_d"):
        make(lr_d=-1.0)
    with pytest.raises(ValueError, match="g_loss"):
        make(g_loss="wasserstein-ish")
    with pytest.raises(ValueError, match="steps"):
        make().run(-1)
    with pytest.raises(ValueError, match="precision='fp16'"):
        make(precision="fp16")


def test_request_stop_stops_early():
    tr = make()
    h = tr.run(100, callback=lambda t: t.request_stop(), every=10)
    assert len(h) == 10


def test_fresh_minibatches_k_times_per_step():
    calls = []
    base = toy.Sampler(toy.gaussian(1.0, 0.5), 0)

    def sampler(m):
        calls.append(m)
        return base(m)

    torch.manual_seed(0)
    tr = train.GANTrainer(models.ToyGenerator(1, 1, 8), models.ToyDiscriminator(1, 16), sampler,
                          batch_size=24, k=4, seed=0, log_every=5)
    tr.run(5)
    assert calls == [24] * 20          # one real minibatch per D step, none for the G step


def test_d_step_leaves_g_and_g_step_leaves_d_unchanged():
    tr = make()
    g0, d0 = copy.deepcopy(tr.G.state_dict()), copy.deepcopy(tr.D.state_dict())
    tr.d_update()
    assert all(torch.equal(g0[k], v) for k, v in tr.G.state_dict().items())
    assert any(not torch.equal(d0[k], v) for k, v in tr.D.state_dict().items())
    d1 = copy.deepcopy(tr.D.state_dict())
    tr.g_update()
    assert all(torch.equal(d1[k], v) for k, v in tr.D.state_dict().items())
    assert any(not torch.equal(g0[k], v) for k, v in tr.G.state_dict().items())


def test_g_step_gives_g_the_full_gradient_and_d_none():
    """The G step asks autograd for G's gradients only (``backward(inputs=G's parameters)``): G's
    gradient is the full one, D gets none, and D's requires_grad flags are never touched."""
    tr = make()
    tr.D.net[0].bias.requires_grad_(False)          # a part of D the user froze on purpose
    flags = [p.requires_grad for p in tr.D.parameters()]
    ref_G, ref_D = copy.deepcopy(tr.G), copy.deepcopy(tr.D)
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(tr.batch_size, 1, generator=gen)
    tr.sample_noise = lambda m: z                   # the same z for both computations
    tr.opt_g = torch.optim.SGD(tr.G.parameters(), lr=0.0)  # keep G as is; we only read .grad
    tr.g_update()
    train.L.generator_loss_nonsaturating(ref_D(ref_G(z))).backward()
    for p, q in zip(tr.G.parameters(), ref_G.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=1e-6, atol=1e-8)
    assert all(p.grad is None for p in tr.D.parameters())
    assert [p.requires_grad for p in tr.D.parameters()] == flags


def test_noise_kinds_and_sgd_with_momentum():
    tr = make(noise="uniform", optimizer="sgd", momentum=0.9, lr_d=0.01, lr_g=0.01)
    z = tr.sample_noise(10_000)
    assert z.shape == (10_000, 1) and z.min() >= -1 and z.max() < 1
    assert abs(float(z.mean())) < 0.03 and abs(float(z.var()) - 1 / 3) < 0.02
    assert isinstance(tr.opt_d, torch.optim.SGD) and tr.opt_d.param_groups[0]["momentum"] == 0.9
    h = tr.run(20)
    assert len(h) == 20
    with pytest.raises(ValueError, match="noise"):
        make(noise="cauchy")
    with pytest.raises(ValueError, match="optimizer"):
        make(optimizer="rmsprop")


def test_bf16_autocast_step_matches_fp32_and_keeps_float32_state():
    """precision='bf16' runs the forward passes in bfloat16 (8-bit mantissa) but keeps weights,
    optimizer state and losses in float32: one DCGAN iteration from the same state gives the
    same losses to bf16 accuracy, and different ones than a genuinely different step would."""
    def dcgan(precision):
        torch.manual_seed(0)
        G, D = models.mnist_pair("dcgan", width=8)
        real = torch.rand(64, 1, 28, 28) * 2 - 1
        return train.GANTrainer(G, D, lambda m: real[:m], batch_size=16, seed=0, log_every=1, precision=precision)
    a, b = dcgan("fp32"), dcgan("bf16")
    assert isinstance(b.G_call, train.InBF16) and a.G_call is a.G
    ha, hb = a.run(2), b.run(2)
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        x, y = getattr(ha, name), getattr(hb, name)
        assert all(abs(u - v) <= 0.03 * abs(u) + 1e-3 for u, v in zip(x, y)), (name, x, y)
    assert ha.d_loss != hb.d_loss  # the bf16 run really computed in lower precision
    assert all(p.dtype == torch.float32 for p in list(b.G.parameters()) + list(b.D.parameters()))
    assert all(t.dtype == torch.float32 for st in b.opt_g.state.values() for t in st.values() if t.dim() > 0)


def test_ema_generator_is_the_running_average_of_g():
    """theta_ema <- beta theta_ema + (1 - beta) theta after every G step, beta = min(decay, (1+t)/(10+t))."""
    tr = make(ema_decay=0.9)
    avg = {k: v.detach().clone() for k, v in tr.G.named_parameters()}
    for t in range(30):
        tr.train_step()
        beta = min(0.9, (1 + t) / (10 + t))
        for k, p in tr.G.named_parameters():
            avg[k].mul_(beta).add_(p.detach(), alpha=1 - beta)
    for k, p in tr.G_ema.named_parameters():
        torch.testing.assert_close(p, avg[k])
        assert not p.requires_grad
    assert any(not torch.equal(p, q) for p, q in zip(tr.G_ema.parameters(), tr.G.parameters()))
    assert tr.G_sample is tr.G_ema
    plain = make()
    assert plain.G_ema is None and plain.G_sample is plain.G and "G_ema" not in plain.state_dict()


def test_ema_is_restored_on_resume_and_frozen_g_keeps_it():
    straight = make(5, ema_decay=0.95)
    straight.run(80)
    first = make(5, ema_decay=0.95)
    first.run(30)
    state = copy.deepcopy(first.state_dict())
    resumed = make(5, ema_decay=0.95)
    resumed.load_state_dict(state)
    resumed.run(50)
    for a, b in zip(resumed.G_ema.state_dict().values(), straight.G_ema.state_dict().values()):
        assert torch.equal(a, b)
    frozen = make(ema_decay=0.9, train_g=False)
    before = copy.deepcopy(frozen.G_ema.state_dict())
    frozen.run(20)
    assert all(torch.equal(before[k], v) for k, v in frozen.G_ema.state_dict().items())


@pytest.mark.parametrize("value", [0, 1.0, -0.5, True, "0.99"])
def test_bad_ema_decay_is_named(value):
    with pytest.raises(ValueError, match="ema_decay must be a finite number in"):
        make(ema_decay=value)


def test_the_steps_do_what_algorithm_1_says():
    """d_step: G unchanged, D's loss is BCE on (real, 1) and (G(z), 0); g_step: D unchanged, loss -log D(G(z))."""
    torch.manual_seed(0)
    G, D = models.ToyGenerator(1, 1, 8), models.ToyDiscriminator(1, 16)
    opt_d, opt_g = torch.optim.SGD(D.parameters(), lr=0.1), torch.optim.SGD(G.parameters(), lr=0.1)
    real, z = torch.randn(32, 1) + 2.0, torch.randn(32, 1)
    with torch.no_grad():
        want_d = -(torch.log(torch.sigmoid(D(real))).mean() + torch.log(1 - torch.sigmoid(D(G(z)))).mean())
    g0 = copy.deepcopy(G.state_dict())
    loss, real_logits = train.d_step(G, D, opt_d, real, z)
    torch.testing.assert_close(loss, want_d)
    assert not loss.requires_grad and real_logits.shape == (32, 1)
    assert all(torch.equal(g0[k], v) for k, v in G.state_dict().items())
    assert all(p.grad is None for p in G.parameters())      # the fakes were detached
    d1 = copy.deepcopy(D.state_dict())
    with torch.no_grad():
        want_g = -torch.log(torch.sigmoid(D(G(z)))).mean()
    loss, fake_logits = train.g_step(G, D, opt_g, z)
    torch.testing.assert_close(loss, want_g)
    assert all(torch.equal(d1[k], v) for k, v in D.state_dict().items())
    assert any(not torch.equal(g0[k], v) for k, v in G.state_dict().items())


def test_trainer_steps_are_the_plain_functions():
    """GANTrainer.train_step is d_step k times then g_step, on the trainer's own noise and data."""
    a, b = make(7, k=2), make(7, k=2)
    sampler = toy.Sampler(toy.gaussian(1.0, 0.5), 7)
    for _ in range(5):
        a.train_step()
        for _ in range(2):
            train.d_step(b.G, b.D, b.opt_d, sampler(b.batch_size), b.sample_noise(b.batch_size))
        train.g_step(b.G, b.D, b.opt_g, b.sample_noise(b.batch_size))
    for p, q in zip(list(a.G.parameters()) + list(a.D.parameters()), list(b.G.parameters()) + list(b.D.parameters())):
        assert torch.equal(p, q)


def test_notebook_01_writes_the_library_steps():
    """Notebook 01's own d_step and g_step (read from its cells) and train.d_step / train.g_step
    leave identical weights after 50 iterations of Algorithm 1 from one seed (k = 2)."""
    import json

    from ganlib import config
    cells = json.loads((config.REPO_DIR / "notebooks" / "01_toy_gan_1d.ipynb").read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    ns: dict = {}
    exec("import torch\nimport torch.nn.functional as F", ns)
    for name in ("d_step", "g_step"):
        (src,) = [s for s in sources if s.startswith(f"def {name}(")]
        exec(src, ns)

    def pair():
        torch.manual_seed(0)
        G, D = models.ToyGenerator(1, 1, 32), models.ToyDiscriminator(1, 32)
        return G, D, torch.optim.Adam(D.parameters(), 2e-3, betas=(0.5, 0.999)), \
            torch.optim.Adam(G.parameters(), 5e-4, betas=(0.5, 0.999))

    runs = []
    for d_step, g_step in ((ns["d_step"], ns["g_step"]), (train.d_step, train.g_step)):
        G, D, opt_d, opt_g = pair()
        real, gen = toy.Sampler(toy.gaussian(1.0, 0.5), seed=1), torch.Generator().manual_seed(0)
        for _ in range(50):
            for _ in range(2):
                d_step(G, D, opt_d, real(64), torch.randn(64, 1, generator=gen))
            g_step(G, D, opt_g, torch.randn(64, 1, generator=gen))
        runs.append([p.detach().clone() for p in [*G.parameters(), *D.parameters()]])
    assert all(torch.equal(p, q) for p, q in zip(*runs))
    assert not torch.equal(runs[0][0], pair()[0].net[0].weight)   # and training did change them
