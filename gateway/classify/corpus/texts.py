"""Hand-written prose for the synthetic corpus: passages, dialogues, foreign-language text, topics."""
# ruff: noqa: E501  (template and prose tables: long natural-language strings read better unbroken)

from __future__ import annotations

PASSAGES: tuple[str, ...] = (
    "The city council voted 7-2 on Tuesday to approve a new bike lane network covering 42 kilometres of streets in the "
    "downtown core. Supporters said the plan would cut traffic injuries and encourage commuting by bicycle, while "
    "several shop owners on Market Street warned that removing parking spaces could hurt their business. Construction "
    "is expected to begin in March and finish by the end of next year, at an estimated cost of 18 million dollars.",
    "Researchers at the University of Oslo have found that short daily walks after meals can lower blood sugar spikes "
    "in adults with type 2 diabetes. In a study of 120 volunteers, participants who walked for 15 minutes after dinner "
    "saw average glucose peaks fall by nearly a fifth compared with those who rested. The team cautioned that the "
    "trial was small and lasted only twelve weeks, and called for larger studies before changing clinical guidance.",
    "Quarterly revenue rose 12 percent to 4.3 billion dollars, driven by strong demand for cloud services, the company "
    "said in its earnings release. Operating margin narrowed slightly because of higher spending on data centres and "
    "a one-off restructuring charge. The chief financial officer told analysts that hiring would remain flat for the "
    "rest of the year and that the firm still expected full-year growth in the low double digits.",
    "Our team spent the sprint migrating the notification service to the new message queue. Delivery latency dropped "
    "from roughly two seconds to under 300 milliseconds, but we found a bug where retries could send duplicate emails. "
    "A fix is in review. Next sprint we plan to add dashboards for queue depth and to retire the old cron-based sender, "
    "pending sign-off from the support team.",
    "The museum's new exhibition brings together more than 200 objects from the Bronze Age, many of them shown in "
    "public for the first time. Highlights include a gold collar found by a farmer in 2019 and a set of bronze tools "
    "that suggest trade links stretching from Ireland to the Baltic. The exhibition runs until September, and entry "
    "is free for visitors under eighteen.",
    "Heavy rain caused flooding across the northern valley overnight, forcing the closure of two main roads and the "
    "evacuation of about 300 residents. Emergency crews used boats to reach people trapped in their homes. No deaths "
    "were reported, but officials said the river was still rising and urged people to avoid travel until Thursday.",
    "Dear team, starting next month the office will move to a hybrid schedule: everyone is expected on site on "
    "Tuesdays and Thursdays, and the other days are flexible. Desk booking will go through the new app, which also "
    "lets you reserve meeting rooms. Please read the attached policy and send questions to HR before the 15th.",
    "Photosynthesis converts light energy into chemical energy stored in glucose. In the light-dependent reactions, "
    "chlorophyll absorbs photons and splits water, releasing oxygen and producing ATP and NADPH. The Calvin cycle then "
    "uses that energy to fix carbon dioxide into sugars. Factors such as light intensity, temperature and carbon "
    "dioxide concentration all limit the overall rate.",
    "The tenant agrees to pay rent of 1,450 euros on the first day of each month. The deposit of two months' rent will "
    "be returned within 30 days of the end of the lease, minus the cost of repairing any damage beyond normal wear. "
    "Either party may end the agreement with three months' written notice. Pets are allowed only with the landlord's "
    "prior written consent.",
    "After three seasons without a trophy, the club appointed a 38-year-old coach with no top-flight experience. "
    "Critics called it a gamble, but the team won eleven of its first fourteen matches, playing a high-pressing style "
    "that suited its young squad. Attendance has risen by a quarter, and the club now sits second in the league.",
    "Customer review: I ordered the blue running shoes in size 42. Delivery took nine days instead of the promised "
    "three, and the box was damaged. The shoes themselves are comfortable and light, but the left one squeaks on hard "
    "floors. Customer service answered quickly and offered a 10% voucher, which I appreciated.",
    "The central bank held interest rates at 4.25 percent, citing signs that inflation is easing but remains above its "
    "2 percent target. Two members of the committee voted for a cut. Markets had expected the decision, and the "
    "currency was little changed. The bank said future moves would depend on wage growth and energy prices.",
    "Maria Lopez, born 12 March 1984 in Valencia, is a Spanish architect known for low-energy public buildings. She "
    "studied at the Polytechnic University of Madrid, worked for Foster + Partners in London from 2009 to 2014, and "
    "founded her own studio in Barcelona in 2015. Her library in Girona won the European Sustainable Design Award in 2021.",
    "Volcanoes form where magma from the mantle reaches the surface, usually at the boundaries of tectonic plates. "
    "Explosive eruptions happen when gas-rich, viscous magma traps pressure until it is released suddenly, while runny "
    "basaltic magma tends to produce gentler lava flows, as seen in Hawaii and Iceland.",
)

DIALOGUES: tuple[str, ...] = (
    "Anna: Did you book the venue for Friday?\nBen: Not yet, the hall wants a deposit of 200.\nAnna: That's fine, the "
    "budget covers it.\nBen: OK, I'll pay today. Should we order catering too?\nAnna: Yes, for 40 people, vegetarian "
    "options included.\nBen: Got it. I'll send the menu tonight.",
    "#Person1#: Good morning, I'd like to open a savings account.\n#Person2#: Certainly. Do you have photo ID and proof "
    "of address?\n#Person1#: I have my passport and a utility bill.\n#Person2#: Perfect. The account has no monthly fee "
    "and pays 2 percent interest.\n#Person1#: Can I withdraw money anytime?\n#Person2#: Up to three times a month "
    "without a charge.",
    "Customer: My internet has been dropping every evening since Monday.\nAgent: I'm sorry to hear that. Have you "
    "restarted the router?\nCustomer: Twice, it didn't help.\nAgent: I can see errors on your line. I'll book an "
    "engineer for Thursday morning.\nCustomer: Thursday works. Will I be compensated?\nAgent: Yes, we'll credit three "
    "days to your next bill.",
    "PM: Where are we on the checkout redesign?\nDev: The new form is done, but payment tests fail on Safari.\nQA: I "
    "logged two bugs; one is a blocker.\nPM: Can we ship Monday?\nDev: Only if the Safari fix lands by Friday.\nPM: "
    "Then let's aim for Wednesday and tell marketing today.",
    "Speaker 1: Thanks for joining. The main item today is the hiring plan.\nSpeaker 2: We need two backend engineers "
    "and one designer.\nSpeaker 1: Finance approved only two roles.\nSpeaker 3: Then the designer should wait until Q3."
    "\nSpeaker 2: Agreed, backend is more urgent.\nSpeaker 1: Great, I'll update the plan and share it Friday.",
    "Tom: Are we still on for the hike on Saturday?\nLisa: Yes, but the forecast says rain after two.\nTom: Let's start "
    "at seven then.\nLisa: Fine by me. I'll bring sandwiches.\nTom: I'll drive. Pick you up at 6:30?\nLisa: Perfect.",
)

# Short passages written in other languages; the target language is chosen to differ.
FOREIGN: tuple[tuple[str, str], ...] = (
    (
        "German",
        "Die Stadtverwaltung hat am Dienstag beschlossen, die Öffnungszeiten der Bibliothek zu verlängern. Ab Mai "
        "ist sie auch sonntags geöffnet. Viele Studierende hatten sich das seit Jahren gewünscht.",
    ),
    (
        "German",
        "Sehr geehrte Damen und Herren, leider ist die bestellte Ware beschädigt bei uns angekommen. Bitte teilen "
        "Sie mir mit, wie ich sie zurücksenden kann und wann ich mit einer Erstattung rechnen darf.",
    ),
    (
        "French",
        "Le gouvernement a annoncé jeudi un nouveau plan pour rénover les écoles les plus anciennes du pays. Les "
        "travaux commenceront dès l'été prochain et dureront environ trois ans.",
    ),
    (
        "French",
        "Bonjour, je voudrais réserver une table pour quatre personnes samedi soir vers vingt heures. Est-ce qu'il "
        "reste de la place en terrasse ? Merci d'avance.",
    ),
    (
        "Spanish",
        "La empresa presentó ayer sus resultados anuales, con un aumento de las ventas del quince por ciento. El "
        "director general atribuyó el crecimiento a la expansión en América Latina.",
    ),
    (
        "Spanish",
        "Hola, ¿podrías decirme a qué hora sale el último tren hacia Sevilla? Necesito llegar antes de medianoche "
        "porque mañana tengo una reunión muy temprano.",
    ),
    (
        "Italian",
        "Il museo resterà chiuso per lavori di restauro fino alla fine di marzo. I biglietti già acquistati "
        "potranno essere utilizzati entro dicembre.",
    ),
    (
        "Portuguese",
        "O festival de música atraiu mais de cinquenta mil pessoas durante o fim de semana. A organização "
        "já confirmou uma nova edição para o próximo ano.",
    ),
    (
        "Russian",
        "В понедельник в городе открылся новый парк. Жители смогут гулять там круглый год, а летом будут "
        "проходить бесплатные концерты.",
    ),
    (
        "Ukrainian",
        "Учені з Києва розробили нову систему очищення води, яка працює без електроенергії. Перші тести "
        "пройшли успішно в трьох селах.",
    ),
    (
        "Chinese",
        "今天上午，市政府宣布将在明年建设三条新的地铁线路。这些线路将连接机场和市中心，预计可以大大缩短通勤时间。",
    ),
    ("Chinese", "请问这个周末博物馆开放吗？我想带孩子去看恐龙展览，不知道需不需要提前预约。"),
    (
        "Japanese",
        "新しい図書館は来月から開館します。平日は夜九時まで利用でき、子ども向けの読み聞かせ会も毎週開かれる予定です。",
    ),
    ("Japanese", "昨日の会議で、来年度の予算案が承認されました。特に教育分野への投資が大幅に増える見込みです。"),
    ("Korean", "내일 오후에 회의가 있으니 자료를 미리 준비해 주세요. 질문이 있으면 언제든지 연락 주시기 바랍니다."),
    (
        "Czech",
        "Vláda schválila nový zákon o ochraně přírody. Národní parky budou mít více peněz na údržbu cest a "
        "ochranu vzácných druhů.",
    ),
    ("Hebrew", "הממשלה הודיעה היום על תוכנית חדשה לבניית דירות בפריפריה. התוכנית צפויה להוזיל את מחירי הדיור."),
    ("Arabic", "أعلنت وزارة الصحة اليوم عن حملة تطعيم جديدة تستهدف الأطفال في جميع أنحاء البلاد خلال الشهر المقبل."),
    ("Dutch", "De trein naar Amsterdam heeft vandaag ongeveer een half uur vertraging door een storing bij Utrecht."),
    (
        "Polish",
        "Jutro w całym kraju spodziewane są silne opady deszczu. Synoptycy ostrzegają przed lokalnymi podtopieniami.",
    ),
    ("Turkish", "Belediye, şehir merkezindeki tarihi binaların restorasyonu için yeni bir proje başlattı."),
)

LANGUAGES = (
    "English",
    "German",
    "French",
    "Spanish",
    "Italian",
    "Portuguese",
    "Russian",
    "Ukrainian",
    "Chinese",
    "Japanese",
    "Korean",
    "Czech",
    "Hebrew",
    "Arabic",
    "Dutch",
    "Polish",
    "Turkish",
    "Hindi",
    "Swedish",
)

TOPICS = (
    "remote work",
    "the history of the printing press",
    "climate adaptation in coastal cities",
    "learning a second language as an adult",
    "why small businesses should use open-source software",
    "urban gardening",
    "the ethics of self-driving cars",
    "a day in the life of a lighthouse keeper",
    "our new product launch",
    "the benefits of public libraries",
    "a dragon who is afraid of heights",
    "the importance of sleep",
    "electric vehicles in rural areas",
    "a retirement party for a long-time colleague",
    "mentoring junior engineers",
    "the future of space tourism",
    "a family recipe passed down for generations",
    "how cities can reduce noise pollution",
    "the first day at a new school",
    "a detective in 1920s Vienna",
)

SHORT_SENTENCES = (
    "the meeting got moved to thursday cuz nobody could make it",
    "This product is garbage and your support team is useless.",
    "We regret to inform you that your application was unsuccessful.",
    "hey can u send me the report asap",
    "The quarterly numbers look good, but we need to cut costs in logistics.",
    "I think the movie was kind of boring honestly.",
    "Please be advised that the server will be down for maintenance tonight.",
    "Our team crushed it this quarter!!!",
    "The food was cold and the waiter ignored us for twenty minutes.",
    "Thank you for your patience while we investigate.",
    "A man rides a bicycle down a quiet street at sunset.",
    "Two dogs play in the snow near a wooden fence.",
)
