"""Benchmarks of textsiam: runnable scripts, run from the repository root as ``python -m benchmarks.<name>``.

Scripts and the results sub-folder (``benchmarks/results/<topic>/``) each writes into by default:

- ``zero_shot`` (``zero_shot/``): the default model zero-shot on STS-B, SICK, MRPC and Quora;
- ``finetune_stsb``, ``finetune_recipes``, ``soup`` (``finetune/``): fine-tuning runs, losses, regularisers, soups;
- ``augsbert_cross_encoder`` (``augsbert/``): textsiam's cross-encoder against sentence-transformers', the same recipe
  on STS-B, Quora and MRPC (helpers in ``augsbert_cross_encoder_st`` and ``augsbert_cross_encoder_report``);
- ``malstm_sick`` (``malstm/``): the MaLSTM recipe on SICK;
- ``distill_towers`` (``towers/``): BERT distilled into LSTM / CNN towers;
- ``distill`` (``towers/``): ``textsiam distill`` students against their teacher, sentence-transformers and model2vec
  (helpers in ``distill_contenders``, ``distill_measure`` and ``distill_report``);
- ``encode_speed``, ``train_speed`` (``speed/``): encoding and training speed against sentence-transformers;
- ``scale`` (``scale/``): duplicate mining and streaming pair scoring at scale (helpers in ``scale_mining`` and
  ``scale_report``);
- ``calibration`` (``calibration/``): calibrated probabilities and STS scores;
- ``explain_faithfulness`` (``explain/``): the deletion test of token attributions.

Shared helpers (arguments, set-up, timing, result files) live in :mod:`benchmarks.common`; training recipes in
``benchmarks/configs/``. ``python -m benchmarks.<name> --help`` describes each script.
"""
