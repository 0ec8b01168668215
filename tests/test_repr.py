"""What a user sees of an estimator in Jupyter."""

import pytest
from sklearn import config_context

from molgnba import GNNClassifier, GNNRegressor

from conftest import N_TINY


class TestFittedSummary:
    def test_unfitted_estimator_says_so(self):
        assert GNNRegressor().fitted_summary() == "GNNRegressor (gin backbone, plain loss): not fitted"
        assert GNNRegressor(backbone="gat", attentive_loss=True).fitted_summary() == (
            "GNNRegressor (gat backbone, adversarial attentive loss): not fitted"
        )
        assert GNNClassifier(backbone="gin", attentive_loss=True, adversarial_attention=False).fitted_summary() == (
            "GNNClassifier (gin backbone, attentive loss): not fitted"
        )

    def test_fitted_classifier_names_backbone_loss_size_and_best_score(self, tiny_classifier):
        summary = tiny_classifier.fitted_summary()
        assert summary.startswith(
            f"GNNClassifier (gin backbone, plain loss): fitted on {N_TINY} molecules"
        )
        assert f"({round(0.1 * N_TINY)} held out for validation)" in summary
        assert f"best epoch {tiny_classifier.best_epoch_}, validation ROC-AUC" in summary

    def test_fitted_regressor_reports_validation_rmse(self, tiny_regressor):
        best = tiny_regressor.history[tiny_regressor.best_epoch_ - 1, "valid_rmse"]
        assert tiny_regressor.fitted_summary().endswith(f"validation RMSE {best:.4f}")

    @pytest.mark.parametrize("loss", ["focal", "ghm"])
    def test_alternative_losses_are_named(self, loss):
        assert f"{loss} loss" in GNNClassifier(loss=loss, attentive_loss=False).fitted_summary()

    def test_plain_loss_is_named(self):
        assert "plain loss" in GNNClassifier(attentive_loss=False).fitted_summary()


class TestHTMLRepr:
    def test_jupyter_html_shows_the_summary_above_the_parameter_diagram(self, tiny_classifier):
        with config_context(display="diagram"):
            html = tiny_classifier._repr_mimebundle_()["text/html"]
            assert tiny_classifier._repr_html_().startswith(html.split("<style>")[0])
        assert html.index(f"fitted on {N_TINY} molecules") < html.index("sk-top-container")
        assert "attention_dim" in html or "max_epochs" in html

    def test_summary_text_is_escaped(self):
        reg = GNNRegressor(backbone="gin")
        reg.backbone = "<script>"
        assert "<script>" not in reg._html_repr().split("</b>")[0]
