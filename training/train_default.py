#!/usr/bin/env python3
"""Trains MambaGen's default model: a byte-level BPE tokenizer and a small HuggingFace Mamba2 on the corpus that
training/prepare_corpus.py writes, then saves config.json, model.safetensors and tokenizer.json and the reference
outputs expected.safetensors (made like shared/oracle/hf_fixtures.py's dump, from the saved weights in fp32 on CPU).

Needs: python3 with torch, transformers (Mamba2ForCausalLM), tokenizers, safetensors; a CUDA GPU for training
(falls back to CPU, slowly). No network.

    python3 training/train_default.py --corpus training/corpus/corpus.txt --out OUTDIR

Training uses transformers' Mamba2 unchanged, except that its chunked SSD scan (mamba2_chunk_scan, the torch
fallback used when no mamba_ssm kernels are installed) runs as batched matrix products instead of broadcast-and-sum
(same arithmetic, far less memory); the script checks that the two agree on this model before it trains and keeps
transformers' own scan if they do not.
Everything saved and every reference is computed by transformers' own code.
"""
import argparse
import copy
import json
import math
import os
import random
import shutil
import sys
import time

T0 = time.time()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
import tokenizers  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import Mamba2Config, Mamba2ForCausalLM  # noqa: E402
from transformers.models.mamba2 import modeling_mamba2 as hf_mamba2  # noqa: E402

EOS = "<|endoftext|>"
LOG = None


def log(*parts):
    line = " ".join(str(p) for p in parts)
    print(line, flush=True)
    if LOG is not None:
        LOG.write(line + "\n")
        LOG.flush()


def elapsed():
    return time.time() - T0


# ----------------------------------------------------------------------------------------------- tokenizer

def train_tokenizer(docs, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(docs, trainer=trainer)
    return tok


# ------------------------------------------------------------------------------- SSD scan as matrix products

def segsum(a):
    """[..., Q] -> [..., Q, Q] with out[i, j] = a[j+1] + ... + a[i] for i >= j and -inf above the diagonal."""
    q = a.size(-1)
    x = a[..., None].expand(*a.shape, q)
    below = torch.tril(torch.ones(q, q, device=a.device, dtype=torch.bool), diagonal=-1)
    x = x.masked_fill(~below, 0)
    s = torch.cumsum(x, dim=-2)
    keep = torch.tril(torch.ones(q, q, device=a.device, dtype=torch.bool), diagonal=0)
    return s.masked_fill(~keep, -torch.inf)


def ssd_chunked(x, dt, A, B, C, D, chunk):
    """x [b,T,h,p], dt [b,T,h] (after softplus), A [h], B/C [b,T,h,n], D [h]; fp32. Returns y [b,T,h,p]."""
    b, T, h, p = x.shape
    pad = (chunk - T % chunk) % chunk
    if pad:
        x, dt, B, C = (F.pad(t, (0, 0) * (t.dim() - 2) + (0, pad)) for t in (x, dt, B, C))
    c = x.shape[1] // chunk
    d_res = D[:, None] * x
    xdt = (x * dt[..., None]).reshape(b, c, chunk, h, p)
    a = (A * dt).reshape(b, c, chunk, h).permute(0, 3, 1, 2)  # [b,h,c,l]
    Bc = B.reshape(b, c, chunk, h, -1)
    Cc = C.reshape(b, c, chunk, h, -1)
    a_cum = torch.cumsum(a, dim=-1)
    # intra-chunk (diagonal blocks)
    L = torch.exp(segsum(a))  # [b,h,c,l,s]
    G = torch.einsum("bclhn,bcshn->bhcls", Cc, Bc)
    y_diag = torch.einsum("bhcls,bcshp->bclhp", G * L, xdt)
    # state at the end of each chunk
    decay = torch.exp(a_cum[..., -1:] - a_cum)  # [b,h,c,l]
    states = torch.einsum("bclhn,bclhp->bchpn", Bc * decay.permute(0, 2, 3, 1)[..., None], xdt)
    # recurrence across chunks, from a zero initial state
    states = torch.cat([torch.zeros_like(states[:, :1]), states], dim=1)
    decay_chunk = torch.exp(segsum(F.pad(a_cum[..., -1], (1, 0))))  # [b,h,c+1,c+1]
    states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)[:, :-1]
    # inter-chunk contribution (off-diagonal blocks)
    y_off = torch.einsum("bclhn,bchpn->bclhp", Cc, states) * torch.exp(a_cum).permute(0, 2, 3, 1)[..., None]
    y = (y_diag + y_off).reshape(b, c * chunk, h, p) + d_res
    return y[:, :T]


ORIGINAL_CHUNK_SCAN = hf_mamba2.mamba2_chunk_scan
MATMUL_CALLS = [0]


def matmul_chunk_scan(hidden_states, dt, A, B, C, chunk_size, D=None, dt_bias=None, initial_states=None,
                      dt_softplus=False, dt_limit=(0.0, float("inf")), return_final_states=False, **kwargs):
    """Stands in for transformers' mamba2_chunk_scan when training (no initial state, no final state wanted)."""
    if initial_states is not None or return_final_states:
        return ORIGINAL_CHUNK_SCAN(hidden_states, dt, A, B, C, chunk_size, D=D, dt_bias=dt_bias,
                                   initial_states=initial_states, dt_softplus=dt_softplus, dt_limit=dt_limit,
                                   return_final_states=return_final_states, **kwargs)
    MATMUL_CALLS[0] += 1
    # The same elementwise steps as transformers' function, in the same dtypes; the contractions run in fp32.
    if dt_bias is not None:
        dt = dt + dt_bias.to(dt.dtype)
    if dt_softplus:
        dt = F.softplus(dt)
    dt = torch.clamp(dt, min=dt_limit[0], max=dt_limit[1])
    with torch.autocast(device_type=hidden_states.device.type, enabled=False):
        h = hidden_states.shape[2]
        x = hidden_states.float()
        Bf = B.float().repeat_interleave(h // B.shape[2], dim=2)
        Cf = C.float().repeat_interleave(h // C.shape[2], dim=2)
        Df = torch.zeros(h, device=x.device) if D is None else D.float()
        return ssd_chunked(x, dt.float(), A.float(), Bf, Cf, Df, chunk_size)


def check_matmul_path(model, vocab, device):
    """Max |logits| difference between transformers' chunk scan and the matmul SSD, on a perturbed copy, fp32."""
    m = copy.deepcopy(model).to(device).float().eval()
    with torch.no_grad():
        m.backbone.embeddings.weight.normal_(0, 0.5)
        for layer in m.backbone.layers:
            mx = layer.mixer
            mx.A_log.copy_(torch.log(torch.rand_like(mx.A_log) * 8 + 0.5))
            mx.dt_bias.copy_(torch.randn_like(mx.dt_bias) * 0.5)
            mx.D.copy_(torch.randn_like(mx.D))
            mx.norm.weight.copy_(1 + 0.1 * torch.randn_like(mx.norm.weight))
    ids = torch.randint(0, vocab, (2, 200), generator=torch.Generator().manual_seed(5)).to(device)
    prev = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        with torch.no_grad():
            hf_mamba2.mamba2_chunk_scan = ORIGINAL_CHUNK_SCAN
            ref = m(ids, use_cache=False).logits.float()
            hf_mamba2.mamba2_chunk_scan = matmul_chunk_scan
            calls = MATMUL_CALLS[0]
            got = m(ids, use_cache=False).logits.float()
            calls = MATMUL_CALLS[0] - calls
    finally:
        hf_mamba2.mamba2_chunk_scan = ORIGINAL_CHUNK_SCAN
        torch.set_float32_matmul_precision(prev)
    # One training step's forward and backward under bf16 autocast must run too.
    m.train()
    hf_mamba2.mamba2_chunk_scan = matmul_chunk_scan
    try:
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            trial = m(ids, use_cache=False).logits.float()
        F.cross_entropy(trial.reshape(-1, vocab), ids.reshape(-1)).backward()
    finally:
        hf_mamba2.mamba2_chunk_scan = ORIGINAL_CHUNK_SCAN
    del m
    return (ref - got).abs().max().item(), ref.abs().max().item(), calls


# ------------------------------------------------------------------------------------------------ training

def param_groups(model, wd):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and "conv1d" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(step, peak, warmup, total, min_frac):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def evaluate(model, windows, device, batch, autocast):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, windows.shape[0], batch):
            w = windows[i:i + batch].to(device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = model(w[:, :-1], use_cache=False).logits.float()
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1), reduction="sum")
            total += loss.item()
            count += w[:, 1:].numel()
    model.train()
    return total / max(1, count)


def main():
    global LOG
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="training/corpus/corpus.txt")
    ap.add_argument("--out", default=os.environ.get("OUT", "out"))
    ap.add_argument("--vocab", type=int, default=3072)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--state", type=int, default=64)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--expand", type=int, default=2)
    ap.add_argument("--conv", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--max-epochs", type=float, default=40.0)
    ap.add_argument("--train-seconds", type=float, default=300.0, help="wall-clock budget of the training loop")
    ap.add_argument("--deadline", type=float, default=470.0, help="no training step starts later than this many seconds after launch")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--val-frac", type=float, default=0.02)
    ap.add_argument("--save-dtype", choices=["bf16", "fp32"], default="bf16")
    ap.add_argument("--hf-path", action="store_true", help="train with transformers' own chunk scan (slow)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--finish-only", metavar="DIR", default=None,
                    help="skip training: copy config.json, model.safetensors and tokenizer.json from DIR into --out, "
                         "then reload them and write samples and references")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    if args.finish_only:
        for name in ("config.json", "model.safetensors", "tokenizer.json"):
            shutil.copyfile(os.path.join(args.finish_only, name), os.path.join(args.out, name))
    LOG = open(os.path.join(args.out, "finish_log.txt" if args.finish_only else "train_log.txt"), "w", encoding="utf-8")
    metrics = {"args": vars(args)}
    random.seed(args.seed)
    torch.manual_seed(args.seed)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    log(f"python {sys.version.split()[0]}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"tokenizers {tokenizers.__version__}")
    log("device:", torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu")
    for mod in ("mamba_ssm", "causal_conv1d"):
        try:
            __import__(mod)
            log(f"{mod}: importable")
        except Exception as e:  # noqa: BLE001
            log(f"{mod}: not importable ({type(e).__name__})")
    metrics["env"] = {"torch": torch.__version__, "transformers": transformers.__version__,
                      "tokenizers": tokenizers.__version__,
                      "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"}

    # ---- data and tokenizer
    with open(args.corpus, encoding="utf-8") as f:
        docs = [d.strip() for d in f.read().split("\n\n") if d.strip()]
    rng = random.Random(args.seed)
    rng.shuffle(docs)
    n_val = max(1, int(len(docs) * args.val_frac))
    val_docs, train_docs = docs[:n_val], docs[n_val:]
    log(f"corpus: {len(docs)} documents, {sum(len(d) for d in docs)} characters; {len(train_docs)} train, {n_val} held out")

    t = time.time()
    if args.finish_only:
        tok = Tokenizer.from_file(os.path.join(args.out, "tokenizer.json"))
    else:
        tok = train_tokenizer(train_docs, args.vocab)
        tok.save(os.path.join(args.out, "tokenizer.json"))
    eos_id = tok.token_to_id(EOS)
    vocab = tok.get_vocab_size()
    log(f"tokenizer: byte-level BPE, vocab {vocab}, {EOS} = {eos_id}, ready in {time.time() - t:.1f} s")
    for d in val_docs[:20]:
        if tok.decode(tok.encode(d).ids) != d:
            raise RuntimeError("tokenizer does not round-trip: " + d[:80])

    def stream(ds):
        ids = []
        for enc in tok.encode_batch(ds):
            ids.extend(enc.ids)
            ids.append(eos_id)
        return torch.tensor(ids, dtype=torch.long)

    train_ids, val_ids = stream(train_docs), stream(val_docs)
    n_chars = sum(len(d) for d in train_docs)
    log(f"tokens: {train_ids.numel()} train, {val_ids.numel()} held out; {n_chars / train_ids.numel():.2f} characters/token")
    metrics["data"] = {"documents": len(docs), "train_tokens": train_ids.numel(), "val_tokens": val_ids.numel(),
                       "chars_per_token": n_chars / train_ids.numel(), "vocab": vocab, "eos_id": eos_id}
    W = args.seq + 1
    val_windows = val_ids[: (val_ids.numel() // W) * W].view(-1, W)
    if not args.finish_only:
        train_and_save(args, metrics, device, tok, train_ids, val_windows, vocab, eos_id)
    finish(args, metrics, device, tok, val_ids, val_windows, vocab, eos_id)


def train_and_save(args, metrics, device, tok, train_ids, val_windows, vocab, eos_id):
    W = args.seq + 1
    train_dev = train_ids.to(device)

    # ---- model
    num_heads = args.expand * args.hidden // args.head_dim
    cfg = Mamba2Config(vocab_size=vocab, hidden_size=args.hidden, state_size=args.state, num_heads=num_heads,
                       head_dim=args.head_dim, n_groups=1, expand=args.expand, conv_kernel=args.conv,
                       chunk_size=args.chunk, num_hidden_layers=args.layers, rms_norm=True, norm_before_gate=False,
                       use_bias=False, use_conv_bias=True, residual_in_fp32=True, tie_word_embeddings=True,
                       initializer_range=0.02, pad_token_id=eos_id, bos_token_id=eos_id, eos_token_id=eos_id)
    model = Mamba2ForCausalLM(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: Mamba2 hidden {args.hidden}, {args.layers} layers, {num_heads} heads x {args.head_dim}, state {args.state}, "
        f"conv {args.conv}, chunk {args.chunk}, vocab {vocab}: {n_params} parameters (tied embeddings counted once)")
    metrics["params"] = n_params

    use_matmul = not args.hf_path
    if use_matmul:
        try:
            diff, scale, calls = check_matmul_path(model, vocab, device)
            log(f"matmul SSD vs transformers' chunk scan, fp32: max |logit diff| {diff:.3e} (max |logit| {scale:.2f}), "
                f"{calls} calls of the matmul scan")
            metrics["matmul_check_max_abs_diff"] = diff
            ok = diff < 1e-3 and calls == args.layers
        except Exception as e:  # noqa: BLE001
            log(f"matmul SSD check failed: {type(e).__name__}: {e}")
            ok = False
        if not ok:
            log("matmul SSD not in use or disagrees: training with transformers' own chunk scan")
            use_matmul = False
    hf_mamba2.mamba2_chunk_scan = matmul_chunk_scan if use_matmul else ORIGINAL_CHUNK_SCAN

    model.to(device).train()
    torch.set_float32_matmul_precision("high")
    autocast = device.type == "cuda"
    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
                            fused=device.type == "cuda")
    tokens_per_step = args.batch * args.seq
    cap_steps = int(args.max_epochs * train_ids.numel() / tokens_per_step)
    planned = cap_steps
    log(f"training: batch {args.batch} x {args.seq} tokens, AdamW lr {args.lr} (warmup {args.warmup}, cosine to "
        f"{args.min_lr_frac}x), wd {args.wd}, bf16 autocast {autocast}; epoch cap {args.max_epochs} = {cap_steps} steps, "
        f"time budget {args.train_seconds:.0f} s")
    gen = torch.Generator(device=device).manual_seed(args.seed)
    offs = torch.arange(W, device=device)
    best = (float("inf"), None, -1)
    t_train = time.time()
    step, run_loss, run_n = 0, 0.0, 0
    history = []
    while step < planned:
        if time.time() - t_train > args.train_seconds or elapsed() > args.deadline:
            log(f"time limit reached at step {step}")
            break
        lr = lr_at(step, args.lr, args.warmup, planned, args.min_lr_frac)
        for g in opt.param_groups:
            g["lr"] = lr
        start = torch.randint(0, train_dev.numel() - W, (args.batch,), device=device, generator=gen)
        w = train_dev[start[:, None] + offs]
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = model(w[:, :-1], use_cache=False).logits.float()
        loss = F.cross_entropy(logits.reshape(-1, vocab), w[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        run_loss += loss.item()
        run_n += 1
        if step == 60:
            # Fit the cosine schedule to the time budget, now that the speed is known.
            rate = step / (time.time() - t_train)
            left = min(args.train_seconds - (time.time() - t_train), args.deadline - elapsed())
            planned = min(cap_steps, step + int(rate * left * 0.97))
            log(f"speed: {rate:.2f} steps/s ({rate * tokens_per_step:.0f} tokens/s); planned steps {planned}")
        if step % args.log_every == 0:
            dt = time.time() - t_train
            log(f"step {step:5d}  loss {run_loss / run_n:.4f}  lr {lr:.2e}  epochs {step * tokens_per_step / train_ids.numel():.2f}  "
                f"{dt:.0f} s")
            history.append({"step": step, "train_loss": run_loss / run_n, "seconds": round(dt, 1)})
            run_loss, run_n = 0.0, 0
        if step % args.eval_every == 0 or step == planned:
            vl = evaluate(model, val_windows, device, 16, autocast)
            log(f"step {step:5d}  held-out loss {vl:.4f}")
            history.append({"step": step, "val_loss": vl})
            if vl < best[0]:
                best = (vl, {k: v.detach().float().cpu().clone() for k, v in model.state_dict().items()}, step)
    train_seconds = time.time() - t_train
    last_val = evaluate(model, val_windows, device, 16, autocast)
    if last_val < best[0]:
        best = (last_val, {k: v.detach().float().cpu().clone() for k, v in model.state_dict().items()}, step)
    log(f"trained {step} steps ({step * tokens_per_step} tokens, {step * tokens_per_step / train_ids.numel():.2f} epochs) "
        f"in {train_seconds:.1f} s; last held-out loss {last_val:.4f}; best {best[0]:.4f} at step {best[2]}")
    metrics["training"] = {"steps": step, "seconds": round(train_seconds, 1), "tokens": step * tokens_per_step,
                           "epochs": step * tokens_per_step / train_ids.numel(), "last_val_loss": last_val,
                           "best_val_loss": best[0], "best_step": best[2], "matmul_ssd": use_matmul,
                           "history": history}
    hf_mamba2.mamba2_chunk_scan = ORIGINAL_CHUNK_SCAN

    # ---- save (tied lm_head dropped, like the fixtures)
    out = args.out
    model = model.cpu().float()
    model.load_state_dict(best[1])
    model.eval()
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    sd.pop("lm_head.weight", None)
    save_dtype = torch.bfloat16 if args.save_dtype == "bf16" else torch.float32
    sd = {k: v.to(save_dtype).contiguous() for k, v in sd.items()}
    save_file(sd, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    model.config.save_pretrained(out)
    with open(os.path.join(out, "config.json")) as f:
        cfg_json = json.load(f)
    log("config.json:", json.dumps(cfg_json, sort_keys=True))
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        log(f"{name}: {os.path.getsize(os.path.join(out, name))} bytes")
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)


def finish(args, metrics, device, tok, val_ids, val_windows, vocab, eos_id):
    out = args.out

    # ---- reload what was saved, in fp32, through transformers' own loading
    try:
        m = Mamba2ForCausalLM.from_pretrained(out, dtype=torch.float32)
    except TypeError:
        m = Mamba2ForCausalLM.from_pretrained(out, torch_dtype=torch.float32)
    m.eval()
    saved = load_file(os.path.join(out, "model.safetensors"))
    msd = m.state_dict()
    for k, v in saved.items():
        if not torch.equal(msd[k], v.float()):
            raise RuntimeError(f"reloaded {k} differs from the saved tensor")
    if not torch.equal(m.lm_head.weight, m.backbone.embeddings.weight):
        raise RuntimeError("lm_head is not tied to the embeddings after reload")
    log(f"reloaded {len(saved)} tensors in fp32 ({next(iter(saved.values())).dtype} on disk); lm_head tied")
    vl_fp32 = evaluate(m.to(device), val_windows, device, 8, False)
    m = m.cpu()
    log(f"held-out loss of the saved model, fp32, transformers' own forward: {vl_fp32:.4f} "
        f"(perplexity {math.exp(vl_fp32):.2f})")
    metrics["saved_model_val_loss_fp32"] = vl_fp32

    # ---- samples
    torch.manual_seed(args.seed)
    prompts = ["Gets the number of", "Initializes a new instance of the", "Returns a value that indicates whether",
               "The exception that is thrown when"]
    samples = []
    try:
        sample_prompts(m, tok, prompts, eos_id, samples)
    except Exception as e:  # noqa: BLE001
        log(f"samples failed: {type(e).__name__}: {e}")
    with open(os.path.join(out, "samples.txt"), "w", encoding="utf-8") as f:
        for kind, ptxt, text in samples:
            line = f"[{kind}] {text!r}"
            log(line)
            f.write(line + "\n")
    metrics["samples"] = [{"kind": k, "prompt": p, "text": t} for k, p, t in samples]

    # ---- references for `check`, as shared/oracle/hf_fixtures.py's dump makes them (fp32, CPU), on real text
    B, T, P, N = 2, 48, 12, 16
    eos_pos = (val_ids == eos_id).nonzero().flatten().tolist()
    starts = [p for p in eos_pos if p + T <= val_ids.numel()]
    picks = [starts[0], starts[len(starts) // 2]]
    ids = torch.stack([val_ids[p:p + T] for p in picks]).contiguous()
    m.generation_config.eos_token_id = None
    with torch.no_grad():
        logits = m(ids).logits.float()
        prompt = ids[:, :P]
        # An explicit all-ones mask: without it generate() infers mask = (prompt != pad_token_id) and zeroes the
        # mixer inputs of every <|endoftext|> (id 0 = pad) in the prompt, which no runtime does.
        g = m.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=N, do_sample=False,
                       output_logits=True, return_dict_in_generate=True, pad_token_id=0, eos_token_id=None)
    gen_logits = torch.stack([s.float() for s in g.logits], 1)
    # Written even when a check fails, so that the log says what is wrong with them.
    if g.sequences.shape != (B, P + N) or gen_logits.shape != (B, N, vocab):
        log(f"WARNING: generation made {tuple(g.sequences.shape)} / {tuple(gen_logits.shape)}")
    elif not torch.equal(gen_logits.argmax(-1), g.sequences[:, P:]):
        log("WARNING: greedy tokens are not the argmax of their logits")
    pre = (gen_logits[:, 0] - logits[:, P - 1]).abs().max().item()
    log(f"references: prefill logit vs full-forward logit at position {P - 1}: max |diff| {pre:.2e}")
    if not pre < 1e-3:
        log("WARNING: the first generated logits disagree with the full forward: the gen_* references are suspect")
    save_file({"input_ids": ids, "logits": logits.contiguous(), "gen_prompt": prompt.contiguous(),
               "gen_tokens": g.sequences.contiguous(), "gen_logits": gen_logits.contiguous()},
              os.path.join(out, "expected.safetensors"))
    for b in range(B):
        log(f"reference row {b}: input {tok.decode(ids[b].tolist())!r}")
        log(f"reference row {b}: greedy {tok.decode(g.sequences[b].tolist())!r}")
    log(f"expected.safetensors: {os.path.getsize(os.path.join(out, 'expected.safetensors'))} bytes")
    metrics["expected"] = {"B": B, "T": T, "prompt": P, "new_tokens": N, "prefill_vs_forward_max_abs_diff": pre}
    metrics["total_seconds"] = round(elapsed(), 1)
    with open(os.path.join(out, "finish_metrics.json" if args.finish_only else "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    log(f"done in {elapsed():.1f} s")


def sample_prompts(m, tok, prompts, eos_id, samples):
    with torch.no_grad():
        for i, ptxt in enumerate(prompts):
            ids = torch.tensor([tok.encode(ptxt).ids])
            g = m.generate(ids, max_new_tokens=40, do_sample=False, pad_token_id=eos_id, eos_token_id=eos_id)
            samples.append(("greedy", ptxt, tok.decode(g[0].tolist())))
            s = m.generate(ids, max_new_tokens=40, do_sample=True, temperature=0.8, top_k=40,
                           pad_token_id=eos_id, eos_token_id=eos_id)
            samples.append(("sampled T=0.8 top-k 40", ptxt, tok.decode(s[0].tolist())))


if __name__ == "__main__":
    main()
