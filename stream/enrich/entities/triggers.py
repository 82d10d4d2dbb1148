"""Context words that announce a name: the tagger's trigger features.

Arabic has no capital letters, so the words around a name carry the evidence a capital would:
a title before a person (الرئيس، وزير الخارجية، السيناتور، المتحدث باسم), a head noun opening
an organisation (وزارة، حزب، حركة، مجلس، منظمة) or a place (مدينة، محافظة، ولاية), a speech verb
near a speaker. The lists are short, closed classes of the language itself, not of any news
period, which is why features built on them carry over to names no training data has seen.
Words are matched on any clitic reading (وزير, والرئيس, للرئيس …).
"""

from __future__ import annotations

from functools import lru_cache

from entities_native import Triggers

from stream.enrich.normalize import normalize

__all__ = ["TRIGGERS", "TRIGGER_CLASSES", "trigger_classes"]

_PERSON_TITLES = """
رئيس رئيسة زعيم زعيمة ملك ملكة أمير أميرة عاهل سلطان شيخ شيخة سيد سيدة وزير وزيرة نائب
نائبة سيناتور سناتور جنرال لواء عميد عقيد فريق مشير دكتور مستشار مستشارة أمين متحدث متحدثة
ناطق ناطقة مبعوث مبعوثة سفير سفيرة قائد مرشد إمام بابا أسقف مطران كاردينال حاخام محامي محامية
قاضي قاضية حاكم محافظ مدير مديرة مدعي مرشح مرشحة ممثل ممثلة لاعب لاعبة مدرب نجم نجمة كاتب
كاتبة شاعر شاعرة فنان فنانة صحفي صحفية ناشط ناشطة معارض معارضة بروفيسور أستاذ أستاذة عضو
مساعد مساعدة نجل نجلة ابن ابنة زوج زوجة شقيق شقيقة والد والدة مدعو راحل فقيد شهيد
أسير معتقل رقيب نقيب ملازم رائد أدميرال زميل زميلة تلميذ تلميذة
"""

_SPEECH_VERBS = """
قال قالت يقول تقول أكد أكدت يؤكد أعلن أعلنت يعلن أضاف أضافت أوضح أوضحت صرح صرحت أشار أشارت
ذكر ذكرت أفاد أفادت دعا دعت طالب طالبت شدد شددت اعتبر اعتبرت رأى رأت نفى نفت حذر حذرت كشف كشفت
التقى التقت استقبل استقبلت بحث بحثت زار زارت
"""

_ORG_HEADS = """
وزارة حزب حركة مجلس منظمة جمعية جماعة شركة مؤسسة هيئة وكالة جامعة بنك مصرف صندوق اتحاد لجنة
جبهة تنظيم ميليشيا ميليشيات مليشيا قوات جيش كتائب كتيبة فيلق حرس مكتب محكمة برلمان مركز
معهد نادي صحيفة جريدة مجلة قناة إذاعة تلفزيون رابطة نقابة ائتلاف تحالف تجمع تيار كتلة منتدى
أكاديمية مجموعة حكومة إدارة مديرية دائرة مصلحة سلطة مفوضية غرفة بورصة مستشفى منتخب فرقة
قيادة مرصد شبكة سرايا عصائب ألوية حشد مقاومة نيابة
"""

_LOC_HEADS = """
مدينة محافظة ولاية منطقة إقليم جزيرة جزر نهر بحر خليج جبل جبال قرية بلدة مخيم حي شارع ميناء
مطار عاصمة دولة جمهورية مملكة إمارة صحراء وادي ضاحية قضاء ناحية مقاطعة شمال جنوب شرق
غرب شمالي جنوبي شرقي غربي وسط أنحاء حدود سواحل ساحل مديرية استاد ملعب سجن قاعدة ميدان
ساحة واحة بحيرة
"""

# Possessive pronouns (normalized: ة and ه fold together, so "ه" also reads a feminine title)
_POSSESSIVES = ("هما", "هم", "ها", "ه")

# class name -> normalized words; the class names are the feature values the model learned
TRIGGER_CLASSES: dict[str, frozenset[str]] = {
    name: frozenset(normalize(w) for w in words.split())
    for name, words in (
        ("ptitle", _PERSON_TITLES),
        ("say", _SPEECH_VERBS),
        ("orghead", _ORG_HEADS),
        ("lochead", _LOC_HEADS),
    )
}


# The classes' words, read by the compiled core (``native/src/triggers.rs``), which finds a word's
# classes for Python and for the tagger's word scorer.
TRIGGERS = Triggers(
    [(name, sorted(words)) for name, words in TRIGGER_CLASSES.items()], "ptitle", _POSSESSIVES
)


@lru_cache(maxsize=200_000)  # one entry per distinct word, like the normalizer's caches
def trigger_classes(norm: str) -> tuple[str, ...]:
    """Trigger classes of a normalized word under any of its clitic readings, in the order of
    TRIGGER_CLASSES; "ptitle" (first) also for a title with a possessive pronoun ("شقيقه رالف",
    "زميلها", "قائدهم"): the pronoun attaches to relations and ranks, which precede a name as
    the bare title does."""
    return TRIGGERS.classes(norm)
