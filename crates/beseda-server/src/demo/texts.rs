//! The words of the demo company: names and the lines of typical conversations.

pub const MANAGERS: &[&str] = &[
    "Анна Смирнова",
    "Дмитрий Кузнецов",
    "Елена Попова",
    "Игорь Васильев",
    "Ольга Новикова",
    "Сергей Морозов",
    "Мария Волкова",
    "Alex Turner",
    "Kate Miller",
    "Павел Соколов",
    "Наталья Лебедева",
    "John Carter",
];

pub const FIRST_RU: &[&str] = &[
    "Александр",
    "Мария",
    "Иван",
    "Екатерина",
    "Алексей",
    "Татьяна",
    "Михаил",
    "Юлия",
    "Никита",
    "Светлана",
    "Андрей",
    "Ксения",
    "Владимир",
    "Дарья",
    "Артём",
    "Виктория",
    "Роман",
    "Полина",
    "Егор",
    "Алина",
];
pub const LAST_RU: &[&str] = &[
    "Иванов",
    "Петров",
    "Сидоров",
    "Фёдоров",
    "Михайлов",
    "Белов",
    "Козлов",
    "Орлов",
    "Зайцев",
    "Павлов",
    "Семёнов",
    "Голубев",
    "Виноградов",
    "Богданов",
    "Воробьёв",
];
pub const FIRST_EN: &[&str] = &[
    "James", "Emily", "Michael", "Sophie", "Daniel", "Olivia", "Thomas", "Grace", "Lucas", "Chloe",
];
pub const LAST_EN: &[&str] = &[
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker", "Wright", "Green",
];

pub const CLIENT_RU: &[&str] = &[
    "Здравствуйте! Подскажите, есть ли в наличии этот товар?",
    "Добрый день, когда будет доставка моего заказа?",
    "Можно оплатить картой при получении?",
    "Хочу оформить возврат, товар не подошёл по размеру.",
    "Спасибо, всё получил!",
    "А есть другой цвет?",
    "Сколько стоит доставка в Казань?",
    "Пришёл не тот товар, что делать?",
    "Можно забронировать до пятницы?",
    "Подскажите номер заказа, пожалуйста, я его потерял.",
    "Вы работаете в выходные?",
    "Отправил фото чека.",
    "Хорошо, жду звонка.",
    "А скидка для постоянных клиентов есть?",
];
pub const MANAGER_RU: &[&str] = &[
    "Здравствуйте! Да, товар есть в наличии.",
    "Добрый день! Проверю статус заказа и вернусь с ответом.",
    "Доставка займёт 2–3 рабочих дня.",
    "Да, оплата картой курьеру возможна.",
    "Оформили возврат, деньги придут в течение 5 дней.",
    "Есть синий и чёрный цвета.",
    "Забронировали для вас до пятницы.",
    "Спасибо за обращение! Хорошего дня.",
    "Пришлите, пожалуйста, фото товара.",
    "Для постоянных клиентов действует скидка 5%.",
];
pub const CLIENT_EN: &[&str] = &[
    "Hi! Is this item still available?",
    "Hello, when will my order arrive?",
    "Can I pay by card on delivery?",
    "I'd like to return the item, it doesn't fit.",
    "Thanks, got it!",
    "Do you have it in another colour?",
    "How much is shipping to Berlin?",
    "I received the wrong item.",
    "Are you open on weekends?",
];
pub const MANAGER_EN: &[&str] = &[
    "Hello! Yes, it's in stock.",
    "Hi! Let me check your order status.",
    "Delivery takes 2–3 business days.",
    "Yes, card payment on delivery is available.",
    "We've started your return; the refund takes up to 5 days.",
    "It also comes in blue and black.",
    "Thank you for reaching out! Have a nice day.",
];

pub const TAGS: &[&str] = &[
    "VIP",
    "Опт",
    "Новый клиент",
    "Жалоба",
    "Доставка",
    "Возврат",
    "B2B",
    "Постоянный",
    "Blogger",
    "Партнёр",
];
