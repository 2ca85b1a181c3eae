from django.apps import AppConfig


class NluConfig(AppConfig):
    name = "bot.nlu"
    label = "nlu"
    verbose_name = "语义理解与知识库"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Load jieba's dictionary and the character tables once per process,
        # never per request. The KB's own words are added when it is compiled.
        from bot.nlu import normalize, segment
        from bot.nlu.seed import seed_domain_words

        segment.tokenizer()
        segment.add_words(seed_domain_words())
        normalize.warm_up()
