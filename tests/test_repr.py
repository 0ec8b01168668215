"""What a user sees of an estimator in Jupyter."""

import pytest
from sklearn import config_context

from molgnba import GNNClassifier, GNNRegressor

SMILES = ["CCO", "CCN", "CCCl", "CCBr", "c1ccccc1", "c1ccncc1", "CC(=O)O", "CC(=O)N"] * 4
LABELS = [0, 1, 1, 1, 0, 0, 0, 1] * 4
TINY = dict(num_layers=1, hidden_dim=8, max_epochs=2, random_state=0)


class TestFittedSummary:
    def test_unfitted_estimator_says_so(self):
        assert GNNRegressor(backbone="gat").fitted_summary() == (
            "GNNRegressor (gat backbone, adversarial attentive loss): not fitted"
        )
        assert GNNClassifier(adversarial_attention=False).fitted_summary() == (
            "GNNClassifier (gin backbone, attentive loss): not fitted"
        )

    def test_fitted_classifier_names_backbone_loss_size_and_best_score(self):
        clf = GNNClassifier(attentive_loss=False, **TINY).fit(SMILES, LABELS)
        summary = clf.fitted_summary()
        assert summary.startswith("GNNClassifier (gin backbone, plain loss): fitted on 32 molecules")
        assert "(3 held out for validation)" in summary
        assert f"best epoch {clf.best_epoch_}, validation ROC-AUC" in summary

    def test_fitted_regressor_reports_validation_rmse(self):
        reg = GNNRegressor(**TINY).fit(SMILES, [float(len(s)) for s in SMILES])
        best = reg.history[reg.best_epoch_ - 1, "valid_rmse"]
        assert reg.fitted_summary().endswith(f"validation RMSE {best:.4f}")

    @pytest.mark.parametrize("loss", ["focal", "ghm"])
    def test_alternative_losses_are_named(self, loss):
        assert f"{loss} loss" in GNNClassifier(loss=loss, attentive_loss=False).fitted_summary()


class TestHTMLRepr:
    def test_jupyter_html_shows_the_summary_above_the_parameter_diagram(self):
        clf = GNNClassifier(**TINY).fit(SMILES, LABELS)
        with config_context(display="diagram"):
            html = clf._repr_mimebundle_()["text/html"]
            assert clf._repr_html_().startswith(html.split("<style>")[0])
        assert html.index("fitted on 32 molecules") < html.index("sk-top-container")
        assert "attention_dim" in html or "max_epochs" in html

    def test_summary_text_is_escaped(self):
        reg = GNNRegressor(backbone="gin")
        reg.backbone = "<script>"
        assert "<script>" not in reg._html_repr().split("</b>")[0]
