"""The fixed words of release documents in each language: headings and sentence templates.

The templates live here, not in the reporter's message catalogues, because they are part of
what a signed release says and change with the release format, not with the form. English and
Russian are complete; the Tajik text is a first version that a native speaker should review
(docs/disclosure-control.md).
"""

from __future__ import annotations

# Headings and fixed sentences. Placeholders are filled by `Narrator`.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "document_title": "Incidents reported by labour migrants: {period}",
        "subtitle": "Summary of reports received by the service",
        "summary": "Summary",
        "headline_figures": "Key figures",
        "months": "Reports by month",
        "acts": "What happened",
        "places": "Where it happened",
        "places_regions": "By federal district and region",
        "places_location": "By type of place",
        "perpetrators": "Who was responsible",
        "airports": "Airport checks",
        "coercion": "Pressure to sign military contracts",
        "people": "People affected",
        "outcomes": "Outcomes and help given",
        "cases": "Case handling",
        "method": "Method and limitations",
        "annex": "Annex: all tables",
        "figure": "Figure",
        "count": "Reports",
        "persons": "People affected",
        "share": "Share",
        "category": "Category",
        "change": "Change",
        "previous": "Previous period",
        "not_shown": "x",
        "range_value": "fewer than {n}",
        "reports_fewer": "fewer than {n} reports",
        "legend_range": (
            "fewer than {n} — a small figure, given as a range instead of exactly so that no "
            "one can be identified (see “Method and limitations”)."
        ),
        "military_pressure": (
            "The service recorded {reports} of pressure to sign a military contract."
        ),
        "method_text_ranges": (
            "Where a figure is hidden only because it is small, the release says “fewer than "
            "{n}” instead of “x”: the figure is between 1 and {last_small} (between 0 and "
            "{last_small} in tables where a zero is hidden too). The audit counts these ranges "
            "as published; a small figure stays “x” where its range, with the other published "
            "figures, would tell more about another hidden figure than this release says."
        ),
        "legend_suppressed": (
            "x — not shown, so that no one can be identified (see “Method and limitations”)."
        ),
        "legend_margin": "± — 95 % of figures are within this distance of the true count.",
        "zero_rows_hidden": (
            "Rows with no reports are not shown here; every row is in the CSV and JSON files."
        ),
        "multi_note": "A report can describe several of these, so the rows add up to more "
        "than the number of reports.",
        "not_stated": "Not stated",
        "all_airports": "All airports",
        "year_only": "Month not known",
        "other_codes": "Other",
        "generated": "Generated on {date}. Method: {method}. Parameters digest: {digest}.",
        "method_suppression": "threshold rule with secondary suppression",
        "method_dp": "differential privacy",
        "headline_reports": "Reports",
        "headline_persons_affected": "People affected (at least)",
        "headline_detention": "Detention",
        "headline_airport_checks": "Airport or border checks",
        "headline_military_pressure": "Pressure to join the military",
        "headline_expulsion": "Expulsion",
        "headline_violence": "Violence",
        "headline_women_involved": "Women among those affected",
        "headline_children_involved": "Children among those affected",
        "flag_contract_offered": "A military contract was offered",
        "flag_contract_signed": "A military contract was signed",
        "flag_citizenship_promised": "Citizenship was promised for service",
        "flag_payment_offered": "A payment was offered",
        "flag_women_involved": "Women among those affected",
        "flag_children_involved": "Children among those affected",
        "flag_triaged": "Triaged",
        "flag_referred": "Referred on",
        "flag_closed": "Closed",
        "case_received": "Reports received",
        "case_median": "Median days from receipt to triage",
        "table_by_month": "Reports by month",
        "table_by_act": "Reports by kind of incident",
        "table_by_region": "Reports by federal district and region",
        "table_by_location_type": "Reports by type of place",
        "table_by_airport": "Reports naming an airport",
        "table_by_perpetrator": "Reports by who was responsible",
        "table_coercion": "Pressure to sign a military contract",
        "table_vulnerable": "Women and children among those affected",
        "table_by_sex": "Reports by sex of the person affected",
        "table_by_age_band": "Reports by age of the person affected",
        "table_by_legal_status": "Reports by legal status",
        "table_by_citizenship": "Reports by citizenship",
        "table_by_group_size": "Reports by number of people affected",
        "table_by_reporter_role": "Reports by who reported",
        "table_by_duration": "Reports by how long people were held",
        "table_by_outcome": "Reports by outcome",
        "table_by_indicator": "Indicators of forced labour",
        "table_case_status": "Case handling",
        "table_interventions": "Help given",
        "no_reports": "No reports were recorded for {period}.",
        "too_few": (
            "Fewer than {threshold} reports were recorded {period_in}. So that no one can be "
            "identified, no figures are published for this period."
        ),
        "total": "{period_in_cap}, the service recorded {reports}.",
        "total_persons": (
            "{period_in_cap}, the service recorded {reports}, describing incidents that "
            "affected at least {persons}."
        ),
        "total_dp": (
            "{period_in_cap}, the service recorded about {n} reports (± {margin}; every figure "
            "in this release carries random noise)."
        ),
        "more_than": "That is {percent} % more than {previous_in} ({previous}).",
        "fewer_than": "That is {percent} % fewer than {previous_in} ({previous}).",
        "same_as": "That is as many as {previous_in} ({previous}).",
        "no_comparison": (
            "There were too few reports in one of the two periods to give a percentage change."
        ),
        "top_act": "The most frequently reported kind of incident was {label} ({value}).",
        "airports_top": (
            "{reports} named an airport; the one named most often was {label} ({top})."
        ),
        "coercion_offered": "{reports} described being offered a military contract.",
        "coercion_signed": "In {reports} the person signed the contract.",
        "coercion_promised": "{reports} described a promise of citizenship in return for service.",
        "hidden_figure": "{what}: not shown, to protect the people concerned.",
        "women_children": (
            "Women were among those affected in {women_reports}, and children in "
            "{children_reports}."
        ),
        "cases_received": (
            "Of the {received_reports} received in the period, {triaged} had been triaged, "
            "{referred} referred on and {closed} closed when this release was generated."
        ),
        "cases_median": "The median time from receipt to triage was {days} days.",
        "cases_base": (
            "This section counts reports by the date the service received them; the rest of "
            "the release counts them by the month the incident happened, so the two numbers "
            "of reports can differ (a report received in October about an incident in "
            "September is counted in September's tables and in October's case handling)."
        ),
        "cases_withheld": (
            "Fewer than {threshold} reports were received in the period; case-handling figures "
            "are not published."
        ),
        "reports_one": "{n} report",
        "reports_many": "{n} reports",
        "persons_one": "{n} person",
        "persons_many": "{n} people",
        "about": "about {n} (± {margin})",
        "method_text_suppression": (
            "Each figure counts reports whose authors agreed that their report could be counted "
            "in statistics. Before counting, every report is reduced to coarse categories (the "
            "month, the region, bands of age and group size) and separated from the report "
            "itself. Any figure from 1 to {last_small} is not shown, and neither is any figure "
            "that would reveal one by subtraction: some larger figures are hidden as well, so "
            "that no hidden figure can be worked out from the totals and other tables of this "
            "release or of earlier releases. A computer audit, published with this release, "
            "checks every hidden figure against all published ones: each could be any number in "
            "a range at least {width} wide."
        ),
        "method_text_dp": (
            "Each figure counts reports whose authors agreed that their report could be counted "
            "in statistics, with random noise added (differential privacy, ε = {epsilon} for "
            "this release). The noise hides whether any one report is in the data. 95 % of "
            "figures are within the margin shown of the true count; small figures are therefore "
            "uncertain, and subtotals are estimated separately, so they need not add up. "
            "Case-handling figures are protected by the threshold rule (figures from 1 to "
            "{last_small} are not shown)."
        ),
        "method_text_dp_budget": (
            "The noise in these figures spends ε = {epsilon} of a lifetime budget of ε = "
            "{lifetime} for each month the release covers (noise drawn on {drawn}); with it, "
            "no month has spent more than {spent}. Any other release with the same figures "
            "shows the same noise instead of drawing new noise, so releases cannot be averaged "
            "to remove it."
        ),
        "limit_sample": (
            "Reports are not a random sample: they show what people chose to report, and where "
            "the service is known. They cannot be used to say how often incidents happen."
        ),
        "limit_units": (
            "One report can describe several people or several kinds of incident, and one "
            "incident can be reported more than once; caseworkers remove duplicates they find."
        ),
        "limit_persons": (
            "People affected is the sum of the group sizes given in the reports; a group larger "
            "than {top_code} counts as {top_code}. When several people report the same group and "
            "the reports are not marked as duplicates, the group is counted more than once."
        ),
        "limit_dates": (
            "Reports are counted in the month the incident happened. Reports that arrive late "
            "are counted in later releases; a published release is never changed, so figures for "
            "the same period can differ between releases."
        ),
        "limit_cases": (
            "Case-handling figures count the reports received in the period, as they stood on "
            "the day the release was generated."
        ),
    },
    "ru": {
        "document_title": "Нарушения прав трудовых мигрантов по их сообщениям: {period}",
        "subtitle": "Сводка сообщений, полученных сервисом",
        "summary": "Основные выводы",
        "headline_figures": "Основные показатели",
        "months": "Сообщения по месяцам",
        "acts": "Виды нарушений",
        "places": "Место событий",
        "places_regions": "По федеральным округам и регионам",
        "places_location": "По типу места",
        "perpetrators": "Кто совершил нарушения",
        "airports": "Проверки в аэропортах",
        "coercion": "Принуждение к заключению военного контракта",
        "people": "Пострадавшие и уязвимые группы",
        "outcomes": "Исходы и оказанная помощь",
        "cases": "Работа с обращениями",
        "method": "Метод и ограничения",
        "annex": "Приложение: все таблицы",
        "figure": "Рисунок",
        "count": "Сообщения",
        "persons": "Пострадавшие",
        "share": "Доля",
        "category": "Категория",
        "change": "Изменение",
        "previous": "Предыдущий период",
        "not_shown": "x",
        "range_value": "менее {n}",
        "reports_fewer": "менее {n} сообщений",
        "legend_range": (
            "менее {n} — небольшое число, указанное диапазоном, а не точно, чтобы никого нельзя "
            "было узнать (см. раздел «Метод и ограничения»)."
        ),
        "military_pressure": ("Сообщений о давлении с целью заключить военный контракт: {value}."),
        "method_text_ranges": (
            "Если показатель скрыт только потому, что он мал, в сводке указано «менее {n}», а "
            "не «x»: показатель находится между 1 и {last_small} (между 0 и {last_small} в "
            "таблицах, где скрывается и ноль). Проверка учитывает эти диапазоны как "
            "опубликованные; небольшой показатель остаётся «x», если его диапазон вместе с "
            "другими опубликованными числами сказал бы о другом скрытом показателе больше, чем "
            "указано в сводке."
        ),
        "legend_suppressed": (
            "x — не показано, чтобы никого нельзя было узнать (см. раздел «Метод и ограничения»)."
        ),
        "legend_margin": "± — 95 % показателей отличаются от точного числа не больше чем на эту "
        "величину.",
        "zero_rows_hidden": (
            "Строки без сообщений здесь не показаны; все строки есть в файлах CSV и JSON."
        ),
        "multi_note": "В одном сообщении может быть описано несколько таких нарушений, поэтому "
        "сумма строк больше числа сообщений.",
        "not_stated": "Нет ответа",
        "all_airports": "Все аэропорты",
        "year_only": "Месяц неизвестен",
        "other_codes": "Другое",
        "generated": "Подготовлено {date}. Метод: {method}. Контрольная сумма параметров: "
        "{digest}.",
        "method_suppression": "порог с вторичным скрытием",
        "method_dp": "дифференциальная приватность",
        "headline_reports": "Сообщения",
        "headline_persons_affected": "Пострадавшие (не менее)",
        "headline_detention": "Задержания",
        "headline_airport_checks": "Проверки в аэропорту или на границе",
        "headline_military_pressure": "Принуждение к военной службе",
        "headline_expulsion": "Выдворение",
        "headline_violence": "Насилие",
        "headline_women_involved": "Среди пострадавших есть женщины",
        "headline_children_involved": "Среди пострадавших есть дети",
        "flag_contract_offered": "Предлагали военный контракт",
        "flag_contract_signed": "Военный контракт подписан",
        "flag_citizenship_promised": "Обещали гражданство за службу",
        "flag_payment_offered": "Предлагали выплату",
        "flag_women_involved": "Среди пострадавших есть женщины",
        "flag_children_involved": "Среди пострадавших есть дети",
        "flag_triaged": "Рассмотрено",
        "flag_referred": "Передано дальше",
        "flag_closed": "Закрыто",
        "case_received": "Получено сообщений",
        "case_median": "Медиана дней от получения до рассмотрения",
        "table_by_month": "Сообщения по месяцам",
        "table_by_act": "Сообщения по видам нарушений",
        "table_by_region": "Сообщения по федеральным округам и регионам",
        "table_by_location_type": "Сообщения по типу места",
        "table_by_airport": "Сообщения с указанием аэропорта",
        "table_by_perpetrator": "Сообщения по тому, кто совершил нарушение",
        "table_coercion": "Принуждение к заключению военного контракта",
        "table_vulnerable": "Женщины и дети среди пострадавших",
        "table_by_sex": "Сообщения по полу пострадавшего",
        "table_by_age_band": "Сообщения по возрасту пострадавшего",
        "table_by_legal_status": "Сообщения по правовому статусу",
        "table_by_citizenship": "Сообщения по гражданству",
        "table_by_group_size": "Сообщения по числу пострадавших",
        "table_by_reporter_role": "Сообщения по тому, кто сообщил",
        "table_by_duration": "Сообщения по длительности удержания",
        "table_by_outcome": "Сообщения по исходу",
        "table_by_indicator": "Признаки принудительного труда",
        "table_case_status": "Работа с обращениями",
        "table_interventions": "Оказанная помощь",
        "no_reports": "За период {period} сообщений не поступало.",
        "too_few": (
            "{period_in_cap} поступило менее {threshold} сообщений. Чтобы никого нельзя было "
            "узнать, показатели за этот период не публикуются."
        ),
        "total": "{period_in_cap} сервис зарегистрировал {reports}.",
        "total_persons": (
            "{period_in_cap} сервис зарегистрировал {reports} о нарушениях, затронувших не менее "
            "{persons}."
        ),
        "total_dp": (
            "{period_in_cap} сервис зарегистрировал сообщений: около {n} (± {margin}; ко всем "
            "показателям этой сводки добавлен случайный шум)."
        ),
        "more_than": "Это на {percent} % больше, чем {previous_in} ({previous}).",
        "fewer_than": "Это на {percent} % меньше, чем {previous_in} ({previous}).",
        "same_as": "Это столько же, сколько {previous_in} ({previous}).",
        "no_comparison": (
            "В одном из двух периодов слишком мало сообщений, чтобы указывать изменение в "
            "процентах."
        ),
        "top_act": "Чаще всего сообщали о нарушении «{label}» ({value}).",
        "airports_top": "Аэропорт указан в сообщениях: {value}; чаще всего — {label} ({top}).",
        "coercion_offered": (
            "Предложение заключить военный контракт описано в сообщениях: {value}."
        ),
        "coercion_signed": "Подписание контракта описано в сообщениях: {value}.",
        "coercion_promised": (
            "Обещание гражданства в обмен на службу описано в сообщениях: {value}."
        ),
        "hidden_figure": "{what}: не показано, чтобы защитить этих людей.",
        "women_children": (
            "Сообщений, где среди пострадавших есть женщины: {women}; дети: {children}."
        ),
        "cases_received": (
            "Получено сообщений за период: {received}. На момент подготовки сводки рассмотрено: "
            "{triaged}, передано дальше: {referred}, закрыто: {closed}."
        ),
        "cases_median": "Медиана времени от получения до рассмотрения — {days} дн.",
        "cases_base": (
            "В этом разделе сообщения учитываются по дате их получения сервисом, в остальной "
            "части сводки — по месяцу, когда произошёл случай, поэтому число сообщений здесь и "
            "выше может различаться (сообщение, полученное в октябре о случае в сентябре, "
            "учтено в таблицах за сентябрь и в работе с обращениями за октябрь)."
        ),
        "cases_withheld": (
            "За период получено менее {threshold} сообщений; показатели работы с обращениями "
            "не публикуются."
        ),
        "reports_one": "{n} сообщение",
        "reports_few": "{n} сообщения",
        "reports_many": "{n} сообщений",
        "persons_one": "{n} человека",
        "persons_few": "{n} человек",
        "persons_many": "{n} человек",
        "about": "около {n} (± {margin})",
        "method_text_suppression": (
            "Учитываются сообщения, авторы которых согласились на их учёт в статистике. До "
            "подсчёта каждое сообщение сводится к укрупнённым категориям (месяц, регион, "
            "возрастная группа, размер группы) и отделяется от самого сообщения. Показатели "
            "от 1 до {last_small} не приводятся; не приводятся и те, из которых их можно было бы "
            "вычислить вычитанием: часть больших показателей тоже скрыта, чтобы ни один скрытый "
            "показатель нельзя было восстановить по итогам и другим таблицам этой или прежних "
            "сводок. Компьютерная проверка, опубликованная вместе со сводкой, сверяет каждый "
            "скрытый показатель со всеми опубликованными: каждый из них может быть любым числом "
            "в диапазоне шириной не менее {width}."
        ),
        "method_text_dp": (
            "Учитываются сообщения, авторы которых согласились на их учёт в статистике; к "
            "каждому показателю добавлен случайный шум (дифференциальная приватность, ε = "
            "{epsilon} для этой сводки). Шум скрывает, есть ли в данных какое-либо отдельное "
            "сообщение. 95 % показателей отличаются от точного числа не больше чем на указанную "
            "погрешность; поэтому малые числа неточны, а промежуточные итоги оцениваются "
            "отдельно и могут не совпадать с суммой строк. Показатели работы с обращениями "
            "защищены порогом (числа от 1 до {last_small} не приводятся)."
        ),
        "method_text_dp_budget": (
            "Шум в этих показателях расходует ε = {epsilon} из общего бюджета ε = {lifetime} "
            "на каждый месяц, который охватывает сводка (шум получен {drawn}); с учётом этой "
            "сводки ни на один месяц не израсходовано больше {spent}. Любая другая сводка с "
            "теми же показателями содержит тот же шум, а не новый, поэтому усреднение сводок "
            "не позволяет его убрать."
        ),
        "limit_sample": (
            "Сообщения не являются случайной выборкой: они показывают, о чём люди решили "
            "сообщить и где о сервисе знают. По ним нельзя судить о частоте нарушений."
        ),
        "limit_units": (
            "Одно сообщение может касаться нескольких людей или нескольких видов нарушений, а об "
            "одном событии могут сообщить несколько раз; найденные повторы сотрудники удаляют."
        ),
        "limit_persons": (
            "Число пострадавших — сумма размеров групп, указанных в сообщениях; группа больше "
            "{top_code} человек учитывается как {top_code}. Если об одной группе сообщили "
            "несколько человек и сообщения не отмечены как повторы, группа учитывается несколько "
            "раз."
        ),
        "limit_dates": (
            "Сообщения учитываются в месяце, когда произошло событие. Поздние сообщения "
            "попадают в последующие сводки; опубликованная сводка не меняется, поэтому "
            "показатели за один период в разных сводках могут различаться."
        ),
        "limit_cases": (
            "Показатели работы с обращениями относятся к сообщениям, полученным за период, по "
            "состоянию на день подготовки сводки."
        ),
    },
    "tg": {
        "document_title": "Вайронкунӣ нисбат ба муҳоҷирони меҳнатӣ аз рӯи хабарҳо: {period}",
        "subtitle": "Хулосаи хабарҳое, ки хидмат гирифтааст",
        "summary": "Хулосаҳои асосӣ",
        "headline_figures": "Нишондиҳандаҳои асосӣ",
        "months": "Хабарҳо аз рӯи моҳҳо",
        "acts": "Намудҳои вайронкунӣ",
        "places": "Ҷойи ҳодиса",
        "places_regions": "Аз рӯи округҳои федералӣ ва минтақаҳо",
        "places_location": "Аз рӯи навъи ҷой",
        "perpetrators": "Кӣ вайрон кардааст",
        "airports": "Санҷишҳо дар фурудгоҳҳо",
        "coercion": "Маҷбур кардан ба шартномаи ҳарбӣ",
        "people": "Зарардидагон ва гурӯҳҳои осебпазир",
        "outcomes": "Натиҷаҳо ва кӯмаки расонидашуда",
        "cases": "Кор бо муроҷиатҳо",
        "method": "Усул ва маҳдудиятҳо",
        "annex": "Замима: ҳамаи ҷадвалҳо",
        "figure": "Расм",
        "count": "Хабарҳо",
        "persons": "Зарардидагон",
        "share": "Ҳисса",
        "category": "Гурӯҳ",
        "change": "Тағйирот",
        "previous": "Давраи пешина",
        "not_shown": "x",
        "range_value": "камтар аз {n}",
        "reports_fewer": "камтар аз {n} хабар",
        "legend_range": (
            "камтар аз {n} — рақами хурд, ки на дақиқ, балки бо фосила нишон дода шудааст, то "
            "касеро шинохтан ғайриимкон бошад (ниг. «Усул ва маҳдудиятҳо»)."
        ),
        "military_pressure": (
            "Хидмат {reports} дар бораи фишор барои имзои шартномаи ҳарбӣ сабт кард."
        ),
        "method_text_ranges": (
            "Агар рақам танҳо аз сабаби хурд буданаш пинҳон бошад, дар хулоса ба ҷойи «x» "
            "«камтар аз {n}» навишта мешавад: рақам аз 1 то {last_small} аст (дар ҷадвалҳое, "
            "ки сифр низ пинҳон мешавад, аз 0 то {last_small}). Санҷиш ин фосилаҳоро ҳамчун "
            "нашршуда ҳисоб мекунад; рақами хурд «x» мемонад, агар фосилаи он бо рақамҳои "
            "дигари нашршуда дар бораи рақами пинҳони дигар бештар аз он чи дар хулоса гуфта "
            "шудааст, маълум кунад."
        ),
        "legend_suppressed": (
            "x — нишон дода нашудааст, то касеро шинохтан ғайриимкон бошад (ниг. «Усул ва "
            "маҳдудиятҳо»)."
        ),
        "legend_margin": "± — 95 % рақамҳо аз адади дақиқ на бештар аз ин фарқ мекунанд.",
        "zero_rows_hidden": (
            "Сатрҳои бе хабар дар ин ҷо нишон дода нашудаанд; ҳамаи сатрҳо дар файлҳои CSV ва "
            "JSON ҳастанд."
        ),
        "multi_note": "Як хабар метавонад якчанд чунин ҳолатро тасвир кунад, бинобар ин суммаи "
        "сатрҳо аз шумораи хабарҳо зиёд аст.",
        "not_stated": "Ҷавоб нест",
        "all_airports": "Ҳамаи фурудгоҳҳо",
        "year_only": "Моҳ маълум нест",
        "other_codes": "Дигар",
        "generated": "Санаи тайёр кардан: {date}. Усул: {method}. Ҳосили назоратии параметрҳо: "
        "{digest}.",
        "method_suppression": "қоидаи ҳадди ақал бо пинҳонкунии дуюмдараҷа",
        "method_dp": "махфияти фарқкунанда",
        "headline_reports": "Хабарҳо",
        "headline_persons_affected": "Зарардидагон (на камтар аз)",
        "headline_detention": "Боздошт",
        "headline_airport_checks": "Санҷиш дар фурудгоҳ ё сарҳад",
        "headline_military_pressure": "Маҷбур кардан ба хизмати ҳарбӣ",
        "headline_expulsion": "Ихроҷ",
        "headline_violence": "Зӯроварӣ",
        "headline_women_involved": "Дар байни зарардидагон занон ҳастанд",
        "headline_children_involved": "Дар байни зарардидагон кӯдакон ҳастанд",
        "flag_contract_offered": "Шартномаи ҳарбӣ пешниҳод шуд",
        "flag_contract_signed": "Шартномаи ҳарбӣ имзо шуд",
        "flag_citizenship_promised": "Барои хизмат шаҳрвандӣ ваъда дода шуд",
        "flag_payment_offered": "Пардохт пешниҳод шуд",
        "flag_women_involved": "Дар байни зарардидагон занон ҳастанд",
        "flag_children_involved": "Дар байни зарардидагон кӯдакон ҳастанд",
        "flag_triaged": "Баррасӣ шуд",
        "flag_referred": "Ба дигарон фиристода шуд",
        "flag_closed": "Пӯшида шуд",
        "case_received": "Хабарҳои гирифташуда",
        "case_median": "Миёнаи рӯзҳо аз гирифтан то баррасӣ",
        "table_by_month": "Хабарҳо аз рӯи моҳҳо",
        "table_by_act": "Хабарҳо аз рӯи намуди вайронкунӣ",
        "table_by_region": "Хабарҳо аз рӯи округҳои федералӣ ва минтақаҳо",
        "table_by_location_type": "Хабарҳо аз рӯи навъи ҷой",
        "table_by_airport": "Хабарҳое, ки фурудгоҳро номбар кардаанд",
        "table_by_perpetrator": "Хабарҳо аз рӯи вайронкунанда",
        "table_coercion": "Маҷбур кардан ба шартномаи ҳарбӣ",
        "table_vulnerable": "Занон ва кӯдакон дар байни зарардидагон",
        "table_by_sex": "Хабарҳо аз рӯи ҷинси зарардида",
        "table_by_age_band": "Хабарҳо аз рӯи синни зарардида",
        "table_by_legal_status": "Хабарҳо аз рӯи мақоми ҳуқуқӣ",
        "table_by_citizenship": "Хабарҳо аз рӯи шаҳрвандӣ",
        "table_by_group_size": "Хабарҳо аз рӯи шумораи зарардидагон",
        "table_by_reporter_role": "Хабарҳо аз рӯи хабардиҳанда",
        "table_by_duration": "Хабарҳо аз рӯи давомнокии нигоҳдорӣ",
        "table_by_outcome": "Хабарҳо аз рӯи натиҷа",
        "table_by_indicator": "Нишонаҳои меҳнати маҷбурӣ",
        "table_case_status": "Кор бо муроҷиатҳо",
        "table_interventions": "Кӯмаки расонидашуда",
        "no_reports": "Барои давраи {period} ягон хабар сабт нашудааст.",
        "too_few": (
            "{period_in_cap} камтар аз {threshold} хабар сабт шуд. То касеро шинохтан ғайриимкон "
            "бошад, рақамҳо барои ин давра нашр намешаванд."
        ),
        "total": "{period_in_cap} хидмат {reports} сабт кард.",
        "total_persons": (
            "{period_in_cap} хидмат {reports} сабт кард, ки дар онҳо на камтар аз {persons} "
            "зарар дидаанд."
        ),
        "total_dp": (
            "{period_in_cap} хидмат тақрибан {n} хабар (± {margin}) сабт кард; ба ҳамаи рақамҳои "
            "ин хулоса садои тасодуфӣ илова шудааст."
        ),
        "more_than": "Ин {percent} % зиёдтар аз {previous_in} ({previous}) аст.",
        "fewer_than": "Ин {percent} % камтар аз {previous_in} ({previous}) аст.",
        "same_as": "Ин ҳамон қадар аст, ки {previous_in} ({previous}) буд.",
        "no_comparison": (
            "Дар яке аз ду давра хабарҳо хеле кам буданд, то тағйиротро бо фоиз нишон диҳем."
        ),
        "top_act": "Аз ҳама бештар дар бораи «{label}» хабар доданд ({value}).",
        "airports_top": (
            "Дар {reports} фурудгоҳ номбар шудааст; аз ҳама бештар — {label} ({top})."
        ),
        "coercion_offered": "Дар {reports} пешниҳоди шартномаи ҳарбӣ тасвир шудааст.",
        "coercion_signed": "Дар {reports} шахс шартномаро имзо кардааст.",
        "coercion_promised": "Дар {reports} ваъдаи шаҳрвандӣ дар ивази хизмат тасвир шудааст.",
        "hidden_figure": "{what}: барои ҳимояи ин одамон нишон дода нашудааст.",
        "women_children": (
            "Занон дар {women_reports} ва кӯдакон дар {children_reports} дар байни "
            "зарардидагон буданд."
        ),
        "cases_received": (
            "Аз {received_reports}, ки дар давра гирифта шуд, то рӯзи тайёр кардани хулоса "
            "{triaged} "
            "баррасӣ, {referred} ба дигарон фиристода ва {closed} пӯшида шуд."
        ),
        "cases_median": "Миёнаи вақт аз гирифтан то баррасӣ {days} рӯз буд.",
        "cases_base": (
            "Дар ин бахш хабарҳо аз рӯи санаи гирифтани онҳо ҳисоб карда мешаванд, дар қисми "
            "дигари хулоса аз рӯи моҳи рух додани ҳодиса, бинобар ин шумораи хабарҳо дар ин ҷо "
            "ва дар боло метавонад фарқ кунад (хабаре, ки дар октябр дар бораи ҳодисаи сентябр "
            "гирифта шуд, дар ҷадвалҳои сентябр ва дар кор бо муроҷиатҳои октябр ҳисоб "
            "мешавад)."
        ),
        "cases_withheld": (
            "Дар давра камтар аз {threshold} хабар гирифта шуд; рақамҳои кор бо муроҷиатҳо нашр "
            "намешаванд."
        ),
        "reports_one": "{n} хабар",
        "reports_many": "{n} хабар",
        "persons_one": "{n} нафар",
        "persons_many": "{n} нафар",
        "about": "тақрибан {n} (± {margin})",
        "method_text_suppression": (
            "Хабарҳое ҳисоб карда мешаванд, ки муаллифонашон ба истифодаи онҳо дар омор розӣ "
            "шудаанд. Пеш аз ҳисоб ҳар хабар ба гурӯҳҳои калон (моҳ, минтақа, гурӯҳи синну сол ва "
            "андозаи гурӯҳ) табдил ва аз худи хабар ҷудо карда мешавад. Рақамҳои аз 1 то "
            "{last_small} нишон дода намешаванд, инчунин рақамҳое, ки онҳоро бо тарҳ кардан "
            "ошкор мекарданд: баъзе рақамҳои калон низ пинҳон карда мешаванд, то ягон рақами "
            "пинҳоншударо аз ҷамъбастҳо ва ҷадвалҳои дигари ин ё хулосаҳои пешина ҳисоб кардан "
            "ғайриимкон бошад. Санҷиши компютерӣ, ки бо ин хулоса нашр шудааст, ҳар рақами "
            "пинҳоншударо бо ҳамаи рақамҳои нашршуда муқоиса мекунад: ҳар яки онҳо метавонад "
            "ҳар адад дар фосилаи на камтар аз {width} бошад."
        ),
        "method_text_dp": (
            "Хабарҳое ҳисоб карда мешаванд, ки муаллифонашон ба истифодаи онҳо дар омор розӣ "
            "шудаанд; ба ҳар рақам садои тасодуфӣ илова шудааст (махфияти фарқкунанда, ε = "
            "{epsilon} барои ин хулоса). 95 % рақамҳо аз адади дақиқ на бештар аз хатои "
            "нишондодашуда фарқ мекунанд; бинобар ин рақамҳои хурд дақиқ нестанд. Рақамҳои кор "
            "бо муроҷиатҳо бо қоидаи ҳадди ақал ҳифз шудаанд (аз 1 то {last_small} нишон дода "
            "намешаванд)."
        ),
        "method_text_dp_budget": (
            "Садои ин рақамҳо аз буҷаи умумии ε = {lifetime} барои ҳар моҳи ин хулоса ε = "
            "{epsilon} сарф мекунад (садо {drawn} гирифта шудааст); бо ин хулоса барои ягон "
            "моҳ зиёда аз {spent} сарф нашудааст. Ҳар хулосаи дигар бо ҳамин рақамҳо ҳамон "
            "садоро дорад, на садои навро, бинобар ин бо миёна кардани хулосаҳо онро бартараф "
            "кардан ғайриимкон аст."
        ),
        "limit_sample": (
            "Хабарҳо интихоби тасодуфӣ нестанд: онҳо нишон медиҳанд, ки одамон дар бораи чӣ "
            "хабар доданро интихоб карданд. Аз рӯи онҳо басомади вайронкуниҳоро муайян кардан "
            "мумкин нест."
        ),
        "limit_units": (
            "Як хабар метавонад якчанд нафар ё якчанд намуди вайронкуниро дар бар гирад ва дар "
            "бораи як ҳодиса метавонанд якчанд бор хабар диҳанд; такрорҳои ёфтшударо кормандон "
            "хориҷ мекунанд."
        ),
        "limit_persons": (
            "Шумораи зарардидагон ҷамъи андозаи гурӯҳҳоест, ки дар хабарҳо нишон дода шудаанд; "
            "гурӯҳи аз {top_code} нафар зиёд ҳамчун {top_code} ҳисоб мешавад. Агар дар бораи як "
            "гурӯҳ якчанд нафар хабар диҳанд ва хабарҳо ҳамчун такрор қайд нашаванд, гурӯҳ якчанд "
            "бор ҳисоб мешавад."
        ),
        "limit_dates": (
            "Хабарҳо дар моҳи рӯй додани ҳодиса ҳисоб карда мешаванд. Хабарҳои дер расида дар "
            "хулосаҳои баъдӣ ҳисоб мешаванд; хулосаи нашршуда тағйир намеёбад."
        ),
        "limit_cases": (
            "Рақамҳои кор бо муроҷиатҳо ба хабарҳои дар давра гирифташуда, мувофиқи ҳолати рӯзи "
            "тайёр кардани хулоса, тааллуқ доранд."
        ),
    },
}
